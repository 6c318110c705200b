"""The original tokenizer of either kind (SentencePiece ``.model``, ``tokenizer.json``): BOS and
padding rows of the new tokens' pieces, one read and one append-only check per extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sentencepiece import SentencePieceProcessor
from tokenizers import Tokenizer

from bailong.embeddings import extend as extend_module
from bailong.embeddings import original as original_module
from bailong.embeddings import pieces as pieces_module
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.original import new_token_pieces
from bailong.embeddings.pieces import load_model_proto
from bailong.tokenizer.load import load_tokenizer
from tests.support.embedding_fixtures import english_sentencepiece, extended, tiny_llama

KINDS = ["sentencepiece", "tokenizer.json"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny original as each kind of file, and its extension (``extended``)."""
    folder = tmp_path_factory.mktemp("sp")
    original = english_sentencepiece(folder)
    json_only = folder / "json-only"
    load_tokenizer(str(original)).save_pretrained(json_only)
    assert not (json_only / "tokenizer.model").exists()
    return {
        "sentencepiece": original,
        "tokenizer.json": json_only,
        "extended": extended(original, folder),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_bos_and_padding_rows_for_both_kinds_of_original(files, kind: str) -> None:
    tokenizer = load_tokenizer(str(files["extended"]))
    sp = SentencePieceProcessor(model_file=str(files["sentencepiece"]))
    num_old, rows = len(sp), len(tokenizer) + 3
    plain = new_token_pieces(tokenizer, files[kind], rows)
    with_bos = new_token_pieces(tokenizer, files[kind], rows, include_bos=True)
    assert len(plain) == len(with_bos) == rows - num_old
    assert plain[-3:] == with_bos[-3:] == [[], [], []]
    assert with_bos[:-3] == [[sp.bos_id(), *ids] for ids in plain[:-3]]
    tai = tokenizer.convert_tokens_to_ids("臺") - num_old
    assert plain[tai] == [3 + b for b in "臺".encode()]  # its UTF-8 byte pieces


@pytest.mark.parametrize("kind", KINDS)
def test_new_token_pieces_of_a_path_still_checks_append_only(files, kind, tmp_path) -> None:
    proto = load_model_proto(files["extended"])
    proto.pieces[300].piece, proto.pieces[301].piece = proto.pieces[301].piece, "▁moved"
    (tmp_path / "tokenizer.model").write_bytes(proto.SerializeToString())
    moved = load_tokenizer(str(tmp_path / "tokenizer.model"))
    with pytest.raises(ValueError, match="append-only extension of the original: id 300"):
        new_token_pieces(moved, files[kind], len(moved))


def counted(calls: list[Any], fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return fn(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("method", ["zip_tie", "mean"])
@pytest.mark.parametrize("kind", KINDS)
def test_one_extension_reads_and_checks_the_original_once(
    files, kind: str, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """zip_tie splits new tokens into original pieces, mean does not: either way the original
    file is parsed once and the tokenizer checked against it once."""
    reads: list[Any] = []
    checks: list[Any] = []
    parse = counted(reads, pieces_module.parse_model_proto)
    monkeypatch.setattr(pieces_module, "parse_model_proto", parse)
    from_file = counted(reads, Tokenizer.from_file)
    monkeypatch.setattr(original_module, "Tokenizer", SimpleNamespace(from_file=from_file))
    check = counted(checks, original_module.check_append_only)
    monkeypatch.setattr(original_module, "check_append_only", check)
    monkeypatch.setattr(extend_module, "check_append_only", check)
    tokenizer = load_tokenizer(str(files["extended"]))
    model = tiny_llama(len(SentencePieceProcessor(model_file=str(files["sentencepiece"]))))
    cfg = EmbeddingInitConfig(method=method, original_tokenizer=str(files[kind]))
    report = extend_embeddings(model, tokenizer, cfg)
    assert report.num_new_tokens == 5
    assert (len(reads), len(checks)) == (1, 1)
