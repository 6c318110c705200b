"""``bailong-data`` prints realized shares, filter counts and masked SFT examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bailong.cli.data import main


def test_bailong_data_on_the_sft_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "cache"))
    main(["data=sft_sample", "data.train_items=40", "--examples", "1"])
    out = capsys.readouterr().out
    assert "train: 40 examples" in out
    assert "sft_zh_en" in out and "translation" in out and "70.00%" in out
    assert "seen" in out and "kept" in out
    assert "example 0" in out and "{+" in out and "+}" in out


def test_bailong_data_counts_what_cleaning_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "cache"))
    corpus = tmp_path / "dup.txt"
    corpus.write_text("同一段文字重複出現。\n\n" * 30 + "另一段不同的文字。\n\n" * 30, "utf-8")
    # the sample tokenizer trains on data.files (bundled); the mix reads the one source
    main([f"data.sources=[{{name: dup, path: '{corpus}'}}]", "data.block_size=8"])
    out = capsys.readouterr().out
    assert re.search(r"removed_duplicate\s*│\s*58\b", out), out  # 60 paragraphs, 2 distinct
