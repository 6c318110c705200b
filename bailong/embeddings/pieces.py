"""Which original-vocabulary pieces each new token stands for.

A new token's rows are built from the rows of the pieces the ORIGINAL tokenizer splits its
text into; for most Chinese characters these are UTF-8 byte-fallback pieces (``臺`` →
``<0xE8> <0x87> <0xBA>``). The split is computed with the original SentencePiece model with
its dummy-prefix normalization switched off, so a piece without a leading ``▁`` is not given a
spurious ``▁`` (id 29871 in Llama 2) that it would never carry inside running text.

Two choices the paper does not spell out are config fields (``embedding_init``):
``space_piece`` — a piece with a leading ``▁`` keeps the space it encodes among its pieces
(``keep``, default) or is split without it (``drop``); ``include_bos`` — prepend ``<s>`` to
every token's pieces (default off: a token in running text is never preceded by BOS).
"""

from __future__ import annotations

from pathlib import Path

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from transformers import PreTrainedTokenizerBase

from bailong.tokenizer.merge import load_model_proto as parse_model_proto

SPACE = "▁"  # SentencePiece's visible space


def sentencepiece_file(path: str | Path) -> Path:
    """The ``.model`` file at ``path`` (a file, or a directory holding ``tokenizer.model``)."""
    path = Path(path).expanduser()
    model = path / "tokenizer.model" if path.is_dir() else path
    if not model.is_file():
        raise FileNotFoundError(f"original tokenizer {str(path)!r}: no SentencePiece .model file")
    return model


def load_model_proto(path: str | Path) -> sp_pb2.ModelProto:
    """The original tokenizer's proto, from a ``.model`` file or a directory holding one."""
    return parse_model_proto(sentencepiece_file(path))


def original_vocab_size(path: str | Path) -> int:
    """How many rows a model trained with this tokenizer has (its number of pieces)."""
    return len(load_model_proto(path).pieces)


def _processor_without_dummy_prefix(proto: sp_pb2.ModelProto) -> spm.SentencePieceProcessor:
    proto = sp_pb2.ModelProto.FromString(proto.SerializeToString())
    proto.normalizer_spec.add_dummy_prefix = False
    return spm.SentencePieceProcessor(model_proto=proto.SerializeToString())


def check_append_only(tokenizer: PreTrainedTokenizerBase, original: list[str]) -> None:
    """The extended tokenizer must keep every original token (``original``, in id order) at its
    id, or old rows mislabel."""
    if len(tokenizer) < len(original):
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens, fewer than the original's {len(original)}"
        )
    current = tokenizer.convert_ids_to_tokens(list(range(len(original))))
    for i, (old, new) in enumerate(zip(original, current, strict=True)):
        if old != new:
            raise ValueError(
                f"the tokenizer is not an append-only extension of the original: id {i} is "
                f"{new!r} but was {old!r}; extend by appending pieces (bailong-extend-tokenizer)"
            )


def token_text(token: str, space_piece: str = "keep") -> str:
    """The text a vocabulary piece stands for; ``drop`` removes a leading space if any is left."""
    text = token.replace(SPACE, " ")
    if space_piece == "drop" and text.startswith(" ") and text.strip(" "):
        text = text[1:]
    return text


def new_token_pieces(
    tokenizer: PreTrainedTokenizerBase,
    original: str | Path,
    num_rows: int,
    *,
    space_piece: str = "keep",
    include_bos: bool = False,
) -> list[list[int]]:
    """For each row from the original vocabulary size up to ``num_rows``: its original piece ids.

    Rows past ``len(tokenizer)`` (padding from ``pad_to_multiple_of``) have no text: ``[]``.
    """
    proto = load_model_proto(original)
    check_append_only(tokenizer, [p.piece for p in proto.pieces])
    processor = _processor_without_dummy_prefix(proto)
    num_old = len(proto.pieces)
    texts = [
        token_text(token, space_piece)
        for token in tokenizer.convert_ids_to_tokens(list(range(num_old, len(tokenizer))))
    ]
    prefix = [processor.bos_id()] if include_bos else []
    pieces = [prefix + list(ids) for ids in processor.encode(texts)] if texts else []
    return pieces + [[] for _ in range(num_rows - len(tokenizer))]
