"""Bad input fails early and clearly, or is skipped and counted where configured.

Complements tests/training/test_validation.py (model/LoRA/optimizer values) and the per-problem
reader
tests in tests/data/test_data_sources.py with the issue's remaining bad inputs: data-mix weights,
unrecognized SFT/source formats, binary files, and a file holding every kind of bad record.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from bailong.cli.data import main as data_main
from bailong.core.checks import ConfigError
from bailong.data.config import BadRecordPolicy, SourceConfig
from bailong.data.documents import DataFileError
from tests.data.test_data_sources import docs
from tests.support.helpers import cache_root, train_settings

SFT = "data=sft_sample"

# (overrides, text the error must contain: the key and the bad value)
BAD_DATA_CONFIG = [
    ([SFT, "data.sources.0.weight=-1"], "data.sources[0].weight=-1.0"),
    ([SFT, "data.sources.0.weight=0", "data.sources.1.weight=0"], "data.sources[0].weight=0.0"),
    ([SFT, "data.sources.0.schema=chatml"], "data.sources[0].schema='chatml'"),
    ([SFT, "data.sources.0.schema=text"], "data.kind=sft takes one of"),
    ([SFT, "+data.sources.0.format=xml"], "data.sources[0].format='xml'"),
    ([SFT, "data.sources.0.path=/no/such/chats.jsonl"], "/no/such/chats.jsonl"),
    ([SFT, "data.chat.template=chatml"], "data.chat.template='chatml'"),
    ([SFT, "data.sources=[]"], "data.kind=sft needs conversation sources"),
    (["data.kind=dpo"], "data.kind='dpo'"),
    (["data.max_doc_chars=0"], "data.max_doc_chars=0"),
    (["embedding_init.method=fancy"], "embedding_init.method='fancy'"),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_DATA_CONFIG)
def test_bad_data_config_is_rejected_before_anything_loads(
    tmp_path: Path, overrides: list[str], expected: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        train_settings(tmp_path, overrides)
    assert expected in str(info.value)
    assert time.perf_counter() - start < 10, "validation must not load models or data"


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_binary_file_names_file_and_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"archive{suffix}"
    path.write_bytes(gzip.compress(b"compressed, not text" * 50))
    with pytest.raises(DataFileError, match=rf"{path}:1: not UTF-8 text"):
        docs(SourceConfig(path=str(path)))
    out, stats = docs(SourceConfig(path=str(path)), on_bad_record=BadRecordPolicy.skip)
    assert out == [] and stats.bad["not UTF-8 text"] >= 1


def write_mixed_bad_file(path: Path) -> Path:
    good = [json.dumps({"text": f"正常的第{i}篇文件，內容足夠長。"}) for i in range(30)]
    lines = [
        json.dumps({"text": "第一篇文件，內容正常。"}).encode(),
        b'{"text": oops}',  # line 2: malformed JSON
        json.dumps({"body": "no text field"}).encode(),  # line 3: missing field
        b'{"text": "caf\xe9"}',  # line 4: not UTF-8
        json.dumps({"text": "x" * 3000}).encode(),  # line 5: over-long
        *(g.encode() for g in good),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bailong_data_stops_at_the_first_bad_record_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    bad = write_mixed_bad_file(tmp_path / "bad.jsonl")
    with pytest.raises(DataFileError, match=rf"{bad}:2: malformed JSON"):
        data_main([f"data.sources=[{{path:{bad}}}]", "data.max_doc_chars=1000"])


def test_bailong_data_skips_and_counts_each_kind_of_bad_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    bad = write_mixed_bad_file(tmp_path / "bad.jsonl")
    overrides = [f"data.sources=[{{path:{bad}}}]", "data.max_doc_chars=1000"]
    data_main([*overrides, "data.on_bad_record=skip"])
    out = capsys.readouterr().out
    for kind in ("malformed JSON", "missing field", "not UTF-8 text", "over-long document"):
        assert f"skipped: {kind}" in out, kind
    assert "seen" in out and "31" in out
