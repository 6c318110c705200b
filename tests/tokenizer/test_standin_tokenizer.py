"""The tiny runs' tokenizers built here: the stand-in original and its Chinese extension."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm

from bailong.core.shared_data import ENV_VAR
from bailong.data.documents import bundled_files
from bailong.tokenizer.merge import contains_cjk, load_model_proto
from bailong.tokenizer.standin import (
    STANDIN_VOCAB_SIZE,
    describe_original,
    original_tokenizer_file,
    sample_extension_file,
)


def pieces(model: Path) -> list[tuple[str, float, int]]:
    proto = load_model_proto(model)
    return [(p.piece, p.score, p.type) for p in proto.pieces]


@pytest.fixture
def no_shared_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh machine: the shared data folder (and Llama 2's tokenizer in it) is absent."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-shared-data"))


def test_standin_is_deterministic_and_english_centric(tmp_path: Path, no_shared_data: None) -> None:
    first = original_tokenizer_file("auto", tmp_path / "a")
    second = original_tokenizer_file("standin", tmp_path / "b")
    # same corpus, same settings: the same model (the file also records its temp build path)
    assert pieces(first) == pieces(second)
    sp = spm.SentencePieceProcessor(model_file=str(first))
    assert sp.get_piece_size() == STANDIN_VOCAB_SIZE
    # Chinese reaches it as UTF-8 byte pieces, as it reaches Llama 2
    assert [sp.id_to_piece(i) for i in sp.encode("臺")][-3:] == ["<0xE8>", "<0x87>", "<0xBA>"]
    assert "stand-in" in describe_original(first, tmp_path / "a")
    assert "not in the shared data" in describe_original(first, tmp_path / "a")


def test_llama2_choice_without_shared_data_names_the_fix(
    tmp_path: Path, no_shared_data: None
) -> None:
    with pytest.raises(FileNotFoundError, match=r"tokenizer\.original_choice=standin"):
        original_tokenizer_file("llama2", tmp_path)


def test_extension_appends_chinese_pieces_only_and_is_cached(
    tmp_path: Path, no_shared_data: None
) -> None:
    original = original_tokenizer_file("standin", tmp_path)
    extended = sample_extension_file(original, bundled_files(), 512, tmp_path)
    old = spm.SentencePieceProcessor(model_file=str(original))
    new = spm.SentencePieceProcessor(model_file=str(extended))
    assert new.get_piece_size() == STANDIN_VOCAB_SIZE + 512
    kept = range(old.get_piece_size())
    assert [new.id_to_piece(i) for i in kept] == [old.id_to_piece(i) for i in kept]
    added = [new.id_to_piece(i) for i in range(old.get_piece_size(), new.get_piece_size())]
    assert all(contains_cjk(p) for p in added)
    mtime = extended.stat().st_mtime_ns
    assert sample_extension_file(original, bundled_files(), 512, tmp_path) == extended
    assert extended.stat().st_mtime_ns == mtime  # read from the cache, not rebuilt
