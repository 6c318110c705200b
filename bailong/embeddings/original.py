"""The base's ORIGINAL tokenizer, whatever its kind: its vocabulary and each new token's pieces.

Two kinds of original tokenizer:

* a SentencePiece ``.model`` (Llama 2; a file, or a directory holding ``tokenizer.model``):
  pieces come from ``bailong.embeddings.pieces`` (SentencePiece without its dummy prefix);
* a Hugging Face ``tokenizer.json`` (Llama 3, Qwen, Mistral v0.3, Gemma; a file, or a
  directory holding it): a new vocabulary entry's pieces are what the original tokenizer's
  model produces for exactly that entry's string. For a byte-level BPE (Llama 3, Qwen) the
  string is the entry's bytes in the byte-to-character alphabet, so a Chinese character the
  base never learned comes out as its UTF-8 byte tokens (``臺`` → ``è ĩ º``, or a longer
  piece the base knows), and an intermediate byte sequence of the extension (``èĩ``) as its
  bytes; for a SentencePiece-style BPE in ``tokenizer.json`` (Mistral, Gemma) it is the
  ``▁``-prefixed piece text with byte fallback, as in the ``.model`` case. A token added as
  plain text (``tokenizer.add_tokens``) is encoded by the whole original pipeline.

``space_piece=drop`` removes a leading space marker (``▁`` or byte-level ``Ġ``) from a token
that has more than it; ``include_bos`` prepends the tokenizer's BOS id (an error for tokenizers
without one, such as Qwen's). The original is read once per extension (``read_original``) and
the extended tokenizer checked against it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

from bailong.embeddings import pieces as sp_pieces
from bailong.tokenizer.files import is_sentencepiece, tokenizer_json

SPACE_MARKERS = ("▁", "Ġ")  # SentencePiece's visible space, byte-level BPE's space byte


def vocabulary(tok: Tokenizer, source: Path) -> list[str]:
    """Every token of a ``tokenizers`` tokenizer (model vocabulary and added tokens) by id."""
    by_id = {i: t for t, i in tok.get_vocab(with_added_tokens=True).items()}
    missing = [i for i in range(len(by_id)) if i not in by_id]
    if missing:
        raise ValueError(f"{source}: token ids are not contiguous (no token has id {missing[0]})")
    return [by_id[i] for i in range(len(by_id))]


@dataclass(frozen=True)
class OriginalTokenizer:
    """An original tokenizer as read from disk: its tokens in id order (its size = the base's
    trained rows) and what splits a new token, the SentencePiece proto or the tokenizer.json."""

    source: Path
    tokens: list[str]
    proto: sp_pb2.ModelProto | None = None
    json_tokenizer: Tokenizer | None = None


def read_original(path: str | Path) -> OriginalTokenizer:
    """The original tokenizer at ``path`` (a ``.model``, a ``tokenizer.json`` or a directory)."""
    if is_sentencepiece(path):
        proto = sp_pieces.load_model_proto(path)
        source = sp_pieces.sentencepiece_file(path)
        return OriginalTokenizer(source, [p.piece for p in proto.pieces], proto=proto)
    source = tokenizer_json(path)
    tok = Tokenizer.from_file(str(source))
    return OriginalTokenizer(source, vocabulary(tok, source), json_tokenizer=tok)


def original_tokens(path: str | Path) -> list[str]:
    """The original tokenizer's tokens in id order (its size = the base's trained rows)."""
    return read_original(path).tokens


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


def _drop_space(token: str, space_piece: str) -> str:
    if space_piece == "drop" and token[:1] in SPACE_MARKERS and token.lstrip(token[0]):
        return token[1:]
    return token


def _json_pieces(
    tokenizer: PreTrainedTokenizerBase, original: OriginalTokenizer, space_piece: str
) -> list[list[int]]:
    """Original ids of every token past the original vocabulary of a ``tokenizer.json``."""
    json_tokenizer = original.json_tokenizer
    assert json_tokenizer is not None
    added = {t.content for t in tokenizer.added_tokens_decoder.values()}
    result = []
    for token in tokenizer.convert_ids_to_tokens(list(range(len(original.tokens), len(tokenizer)))):
        if token in added:  # plain text: the whole original pipeline
            text = token.removeprefix(" ") if space_piece == "drop" else token
            result.append(json_tokenizer.encode(text, add_special_tokens=False).ids)
            continue
        split = json_tokenizer.model.tokenize(_drop_space(token, space_piece))
        if not split:
            raise ValueError(f"{original.source}: the original tokenizer cannot split {token!r}")
        result.append([piece.id for piece in split])
    return result


def new_token_pieces(
    tokenizer: PreTrainedTokenizerBase,
    original: str | Path | OriginalTokenizer,
    num_rows: int,
    *,
    space_piece: str = "keep",
    include_bos: bool = False,
) -> list[list[int]]:
    """For each row from the original vocabulary size up to ``num_rows``: its original piece ids.

    ``original`` is a path, read here and ``tokenizer`` checked to extend it append-only, or an
    ``OriginalTokenizer`` its caller has read and checked (``extend_embeddings``). Rows past
    ``len(tokenizer)`` (padding) have no text: ``[]``.
    """
    if not isinstance(original, OriginalTokenizer):
        original = read_original(original)
        check_append_only(tokenizer, original.tokens)
    if original.proto is not None:
        pieces = sp_pieces.split_new_tokens(tokenizer, original.proto, space_piece)
    else:
        pieces = _json_pieces(tokenizer, original, space_piece)
    if include_bos:
        if tokenizer.bos_token_id is None:
            raise ValueError("embedding_init.include_bos=true, but the tokenizer has no BOS token")
        pieces = [[tokenizer.bos_token_id, *ids] for ids in pieces]
    return pieces + [[] for _ in range(num_rows - len(tokenizer))]
