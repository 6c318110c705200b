"""Bad input files and records are named (file and line) before anything trains on them."""

from __future__ import annotations

import gzip
import json
import os
import threading
import warnings
from pathlib import Path

import pytest

from bailong.data.config import BadRecordPolicy, CleanConfig, SourceConfig
from bailong.data.documents import DataFileError
from bailong.tokenizer.load import load_tokenizer
from tests.data.test_data_sources import convs, docs, write_jsonl

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


def sample_tokenizer(tmp_path: Path, files: list[Path]) -> None:
    load_tokenizer(None, text_files=files, sample_vocab_size=300, cache_dir=tmp_path / "cache")


def test_a_file_on_one_long_line_is_named_before_sentencepiece_drops_it(tmp_path: Path) -> None:
    path = tmp_path / "one-line.txt"
    path.write_text("臺灣的天氣很好。" * 2_200_000 + "\n", encoding="utf-8")  # ~50 MB, one line
    with pytest.raises(DataFileError, match=rf"{path}:1: a line of 52800000 bytes; .*8192"):
        sample_tokenizer(tmp_path, [path])


def test_a_json_line_nested_too_deep_is_named(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    deep = '{"text": ' * 100_000 + '"x"' + "}" * 100_000
    path.write_text('{"text": "好"}\n' + deep + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=rf"{path}:2: malformed JSON \(nested deeper"):
        docs(SourceConfig(path=str(path)))


@pytest.mark.parametrize(
    ("column", "message"),
    [("body", r"row 0: no field 'text' at top level"), ("text", r"row 0: field 'text' holds int")],
)
def test_a_parquet_file_without_a_text_column_is_named_by_row_and_field(
    tmp_path: Path, column: str, message: str
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "table.parquet"
    values = ["臺灣", "天氣"] if column == "body" else [1, 2]
    pq.write_table(pa.table({column: values}), path)
    with pytest.raises(DataFileError, match=rf"{path}: {message}.*data\.text_field"):
        sample_tokenizer(tmp_path, [path])


def test_a_jsonl_file_trains_the_sample_tokenizer_on_its_text_field(tmp_path: Path) -> None:
    sample = Path(__file__).parents[2] / "bailong" / "data" / "sample" / "en.txt"
    rows = [{"text": doc} for doc in sample.read_text("utf-8").split("\n\n") if doc.strip()]
    path = write_jsonl(tmp_path / "docs.jsonl", rows)
    tok = load_tokenizer(None, text_files=[path], sample_vocab_size=600, cache_dir=tmp_path / "c")
    pieces = tok.convert_ids_to_tokens(list(range(len(tok))))
    assert not [p for p in pieces if '":' in p or '{"' in p], "trained on text, not on JSON"


def test_controls_and_a_bom_are_removed_from_training_text(tmp_path: Path) -> None:
    path = tmp_path / "scraped.txt"
    raw = "\ufeff臺灣\x1b[31m紅色\x1b[0m的字\n\n\u202e反轉\u202c文字\x07\n"
    path.write_text(raw, encoding="utf-8")
    out, stats = docs(SourceConfig(path=str(path)))
    assert [t for _, t in out] == ["臺灣紅色的字", "反轉文字"]
    assert stats.cleaning["controls_removed"] == 2
    kept, _ = docs(SourceConfig(path=str(path)), clean=CleanConfig(strip_controls=False))
    assert kept[0][1] == "臺灣\x1b[31m紅色\x1b[0m的字", "the BOM opening the file is never text"


def test_bailong_data_prints_controls_escaped() -> None:
    from bailong.data.clean import printable

    assert printable("a\x1b[2Jb\u202ec\tn") == "a\\x1b[2Jb\\u202ec\tn"


SIMPLIFIED = "台湾的经济发展很快，这里的人们喜欢读书和学习新的语言。" * 80


def test_simplified_text_in_a_traditional_run_is_warned_about_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "zh_cn.txt"
    path.write_text(SIMPLIFIED + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"zh_cn\.txt.*\d+% of its first .*clean\.opencc=s2twp"):
        docs(SourceConfig(path=str(path)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        docs(SourceConfig(path=str(path), opencc="s2twp"))  # converted: nothing to say
        traditional = tmp_path / "zh_tw.txt"
        traditional.write_text("臺灣的經濟發展很快，這裡的人們喜歡讀書。" * 120 + "\n", "utf-8")
        docs(SourceConfig(path=str(traditional)))
