"""Which original-vocabulary pieces each new token stands for.

A new token's rows are built from the rows of the pieces the ORIGINAL tokenizer splits its
text into; for most Chinese characters these are UTF-8 byte-fallback pieces (``臺`` →
``<0xE8> <0x87> <0xBA>``). The split is computed with the original SentencePiece model with
its dummy-prefix normalization switched off, so a piece without a leading ``▁`` is not given a
spurious ``▁`` (id 29871 in Llama 2) that it would never carry inside running text.

Two choices the paper does not spell out are config fields (``embedding_init``):
``space_piece`` — a piece with a leading ``▁`` keeps the space it encodes among its pieces
(``keep``, default) or is split without it (``drop``); ``include_bos`` — prepend ``<s>`` to
every token's pieces (default off: a token in running text is never preceded by BOS; added in
``bailong.embeddings.original`` for every kind of original tokenizer).
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


def _processor_without_dummy_prefix(proto: sp_pb2.ModelProto) -> spm.SentencePieceProcessor:
    proto = sp_pb2.ModelProto.FromString(proto.SerializeToString())
    proto.normalizer_spec.add_dummy_prefix = False
    return spm.SentencePieceProcessor(model_proto=proto.SerializeToString())


def token_text(token: str, space_piece: str = "keep") -> str:
    """The text a vocabulary piece stands for; ``drop`` removes a leading space if any is left."""
    text = token.replace(SPACE, " ")
    if space_piece == "drop" and text.startswith(" ") and text.strip(" "):
        text = text[1:]
    return text


def split_new_tokens(
    tokenizer: PreTrainedTokenizerBase, proto: sp_pb2.ModelProto, space_piece: str = "keep"
) -> list[list[int]]:
    """The original piece ids of each token of ``tokenizer`` past the original vocabulary."""
    processor = _processor_without_dummy_prefix(proto)
    texts = [
        token_text(token, space_piece)
        for token in tokenizer.convert_ids_to_tokens(list(range(len(proto.pieces), len(tokenizer))))
    ]
    return [list(ids) for ids in processor.encode(texts)] if texts else []
