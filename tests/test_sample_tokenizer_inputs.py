"""Bad text files are named before the sample tokenizer trains on them (or hangs on them)."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import pytest

from bailong.config import SourceConfig
from bailong.data.documents import DataFileError
from bailong.tokenizer.load import load_tokenizer
from tests.test_bad_data import docs

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
