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
that has more than it; ``include_bos`` prepends the BOS id (an error for tokenizers without one,
such as Qwen's).
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerBase

from bailong.embeddings import pieces as sp_pieces
from bailong.embeddings.pieces import check_append_only
from bailong.tokenizer.files import is_sentencepiece, tokenizer_json

SPACE_MARKERS = ("▁", "Ġ")  # SentencePiece's visible space, byte-level BPE's space byte


def vocabulary(tok: Tokenizer, source: Path) -> list[str]:
    """Every token of a ``tokenizers`` tokenizer (model vocabulary and added tokens) by id."""
    by_id = {i: t for t, i in tok.get_vocab(with_added_tokens=True).items()}
    missing = [i for i in range(len(by_id)) if i not in by_id]
    if missing:
        raise ValueError(f"{source}: token ids are not contiguous (no token has id {missing[0]})")
    return [by_id[i] for i in range(len(by_id))]


def original_tokens(path: str | Path) -> list[str]:
    """The original tokenizer's tokens in id order (its size = the base's trained rows)."""
    if is_sentencepiece(path):
        return [p.piece for p in sp_pieces.load_model_proto(path).pieces]
    source = tokenizer_json(path)
    return vocabulary(Tokenizer.from_file(str(source)), source)


def _drop_space(token: str, space_piece: str) -> str:
    if space_piece == "drop" and token[:1] in SPACE_MARKERS and token.lstrip(token[0]):
        return token[1:]
    return token


def _json_pieces(
    tokenizer: PreTrainedTokenizerBase, source: Path, space_piece: str
) -> list[list[int]]:
    """Original ids of every token past the original vocabulary of ``source``."""
    original = Tokenizer.from_file(str(source))
    tokens = vocabulary(original, source)
    check_append_only(tokenizer, tokens)
    added = {t.content for t in tokenizer.added_tokens_decoder.values()}
    result = []
    for token in tokenizer.convert_ids_to_tokens(list(range(len(tokens), len(tokenizer)))):
        if token in added:  # plain text: the whole original pipeline
            text = token.removeprefix(" ") if space_piece == "drop" else token
            result.append(original.encode(text, add_special_tokens=False).ids)
            continue
        split = original.model.tokenize(_drop_space(token, space_piece))
        if not split:
            raise ValueError(f"{source}: the original tokenizer cannot split {token!r}")
        result.append([piece.id for piece in split])
    return result


def new_token_pieces(
    tokenizer: PreTrainedTokenizerBase,
    original: str | Path,
    num_rows: int,
    *,
    space_piece: str = "keep",
    include_bos: bool = False,
) -> list[list[int]]:
    """For each row from the original vocabulary size up to ``num_rows``: its original piece ids.

    Rows past ``len(tokenizer)`` (padding) have no text: ``[]``.
    """
    if is_sentencepiece(original):
        return sp_pieces.new_token_pieces(
            tokenizer, original, num_rows, space_piece=space_piece, include_bos=include_bos
        )
    pieces = _json_pieces(tokenizer, tokenizer_json(original), space_piece)
    if include_bos:
        if tokenizer.bos_token_id is None:
            raise ValueError("embedding_init.include_bos=true, but the tokenizer has no BOS token")
        pieces = [[tokenizer.bos_token_id, *ids] for ids in pieces]
    return pieces + [[] for _ in range(num_rows - len(tokenizer))]
