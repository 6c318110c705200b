"""Bad input files and records are named (file and line) before anything trains on them."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from bailong.data.config import BadRecordPolicy, SourceConfig
from bailong.data.documents import DataFileError
from bailong.tokenizer.load import load_tokenizer
from tests.test_data_sources import convs, docs, write_jsonl

BAD_FILES = {
    "empty": (b"", ": file is empty"),
    "whitespace": (b"  \n\t\n   \n", ": file is empty"),
    "binary": (gzip.compress(b"compressed, not text" * 50), ":1: not UTF-8 text"),
    "latin-1": ("café crème brûlée\n".encode("latin-1"), ":1: not UTF-8 text"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_a_bad_file_is_named_before_sentencepiece_runs(tmp_path: Path, kind: str) -> None:
    content, problem = BAD_FILES[kind]
    path = tmp_path / f"{kind}.txt"
    path.write_bytes(content)
    with pytest.raises(
        DataFileError, match=rf"{path}{problem}" if problem[0] == ":" else str(path)
    ):
        load_tokenizer(None, text_files=[path], sample_vocab_size=300, cache_dir=tmp_path / "c")


def test_a_fifo_is_refused_instead_of_read_forever(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_tokenizer(None, text_files=[fifo], sample_vocab_size=300, cache_dir=tmp_path)
        except BaseException as err:
            outcome.append(err)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "loading blocked on the FIFO"
    assert isinstance(outcome[0], DataFileError) and "not a regular file" in str(outcome[0])


def test_a_bad_parquet_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataFileError, match=rf"{path}: not a readable Parquet file"):
        docs(SourceConfig(path=str(path)))


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_a_nul_character_is_a_bad_record_naming_file_and_line(tmp_path: Path, suffix: str) -> None:
    lines = ["好的", "bin\x00ary", "再見"]
    if suffix == ".jsonl":
        lines = [
            json.dumps({"text": t}, ensure_ascii=False).replace("\\u0000", "\x00") for t in lines
        ]
    path = tmp_path / f"nul{suffix}"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{path}:3: NUL character"):
        docs(SourceConfig(path=str(path)))
    out, stats = docs(SourceConfig(path=str(path)), on_bad_record=BadRecordPolicy.skip)
    assert [t for _, t in out] == ["好的", "再見"] and stats.bad["NUL character"] == 1


@pytest.mark.parametrize("empty", ["", "  \n\t"])
def test_a_conversation_with_an_empty_turn_is_not_a_training_example(
    tmp_path: Path, empty: str
) -> None:
    good = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    bad = [{"role": "user", "content": empty}, {"role": "assistant", "content": "yo"}]
    path = write_jsonl(tmp_path / "chat.jsonl", [{"messages": good}, {"messages": bad}])
    with pytest.raises(DataFileError, match=rf"{path}:2: empty turn \(turn 0 \(user\)"):
        convs(SourceConfig(path=str(path), schema="openai"))
    out, stats = convs(SourceConfig(path=str(path), schema="openai"), on_bad_record="skip")
    assert len(out) == 1 and stats.bad["empty turn"] == 1
