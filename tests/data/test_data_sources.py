"""Readers of every source format, the shared corpora, and every kind of bad data."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bailong.data.config import BadRecordPolicy, CleanConfig, DataConfig, SourceConfig
from bailong.data.documents import DataFileError
from bailong.data.sources import Source, SourceStats, conversations, documents
from tests.conftest import require_shared
from tests.support.data_fixtures import write_jsonl


def docs(src: SourceConfig, **kwargs: object) -> tuple[list[tuple[str, str]], SourceStats]:
    stats = SourceStats()
    data = DataConfig(sources=[src], **kwargs)
    out = list(documents(Source(src, [src.path] if src.path else []), data, stats, "all", 0))
    return out, stats


def convs(src: SourceConfig, **kwargs: object) -> tuple[list, SourceStats]:
    stats = SourceStats()
    data = DataConfig(kind="sft", sources=[src], **kwargs)
    return list(conversations(Source(src, [src.path]), data, stats, "all", 0)), stats


def test_plain_text_paragraphs_lines_and_jsonl(tmp_path: Path) -> None:
    text = tmp_path / "a.txt"
    text.write_text("第一段\n第一段續\n\n\n第二段\n", "utf-8")
    out, _ = docs(SourceConfig(path=str(text)))
    assert [t for _, t in out] == ["第一段\n第一段續", "第二段"]
    assert out[1][0] == f"{text}:5"
    out, _ = docs(SourceConfig(path=str(text), format="lines"))
    assert [t for _, t in out] == ["第一段", "第一段續", "第二段"]
    rows = write_jsonl(tmp_path / "b.jsonl", [{"body": "one"}, {"body": "two"}])
    out, _ = docs(SourceConfig(path=str(rows), field="body"))
    assert [(w, t) for w, t in out] == [(f"{rows}:1", "one"), (f"{rows}:2", "two")]


def test_nested_json_path_and_parquet(tmp_path: Path) -> None:
    nested = tmp_path / "squad.json"
    nested.write_text(
        json.dumps({"data": [{"paragraphs": [{"context": "甲"}, {"context": "乙"}]}]}), "utf-8"
    )
    out, _ = docs(SourceConfig(path=str(nested), field="data[].paragraphs[].context"))
    assert [t for _, t in out] == ["甲", "乙"]
    assert out[1][0].endswith("data[0].paragraphs[1].context")
    table = pa.table({"text": ["alpha", "beta", "gamma"], "n": [1, 2, 3]})
    pq.write_table(table, tmp_path / "c.parquet")
    out, _ = docs(SourceConfig(path=str(tmp_path / "c.parquet")))
    assert [t for _, t in out] == ["alpha", "beta", "gamma"]
    assert out[2][0].endswith("c.parquet: row 2")


def test_hf_datasets_source_reads_a_local_folder_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hf_name`` streams through ``datasets.load_dataset``; a local folder needs no network."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    folder = tmp_path / "hub_like"
    folder.mkdir()
    write_jsonl(folder / "train.jsonl", [{"text": f"doc {i}"} for i in range(5)])
    out, _ = docs(SourceConfig(hf_name=str(folder), hf_split="train"))
    assert [t for _, t in out] == [f"doc {i}" for i in range(5)]
    assert out[0][0].endswith("[train]: row 0")


def test_drcd_paragraphs_from_shared_data() -> None:
    path = require_shared("corpora/zh_tw/drcd_dev.json")
    out, _ = docs(SourceConfig(path=str(path), field="data[].paragraphs[].context"))
    assert len(out) > 900
    assert all("data[" in where and ".context" in where for where, _ in out)
    assert sum(len(t) for _, t in out) > 100_000


def test_sharegpt_dummy_from_shared_data() -> None:
    path = require_shared("chat/en_sharegpt_dummy.json")
    out, stats = convs(SourceConfig(path=str(path), schema="sharegpt"))
    assert len(out) == 500 and not stats.bad
    for _, messages in out:
        roles = [r for r, _ in messages]
        assert roles[0] == "user" and roles[-1] == "assistant"
        assert roles == ["user", "assistant"] * (len(roles) // 2)


def test_alpaca_zh_is_converted_to_traditional_with_opencc() -> None:
    path = require_shared("chat/alpaca_zh_simplified_demo.json")
    raw = json.loads(path.read_text("utf-8"))
    out, stats = convs(SourceConfig(path=str(path), schema="alpaca", opencc="s2twp"))
    assert len(out) == len(raw) == 1000
    assert raw[0]["instruction"].startswith("识别")
    assert out[0][1][0][1].startswith("識別"), out[0][1][0][1][:20]
    assert stats.cleaning["opencc_s2twp_changed"] > 900
    simplified = "们这说时会来个为发经"  # common Simplified-only characters
    text = "".join(c for _, conv in out for _, c in conv)
    assert sum(text.count(ch) for ch in simplified) == 0


def test_tang_poems_join_lines_from_shared_data() -> None:
    path = require_shared("corpora/zh_tw/tang_poems")
    src = SourceConfig(path=str(path / "poet.tang.0.json"), field="paragraphs")
    out, _ = docs(src)
    assert len(out) > 100 and any("\n" in t for _, t in out)


# ---- bad data: clear errors naming file and line, or skip and count ------------------------


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": oops}\n{"text": "fine"}\n', "utf-8")
    with pytest.raises(DataFileError, match=rf"{path}:2: malformed JSON"):
        docs(SourceConfig(path=str(path)))
    out, stats = docs(SourceConfig(path=str(path)), on_bad_record=BadRecordPolicy.skip)
    assert [t for _, t in out] == ["ok", "fine"] and stats.bad["malformed JSON"] == 1


def test_missing_field_names_file_and_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", [{"text": "a"}, {"body": "b"}])
    with pytest.raises(DataFileError, match=rf"{path}:2: missing field .*'text'"):
        docs(SourceConfig(path=str(path)))
    out, stats = docs(SourceConfig(path=str(path)), on_bad_record=BadRecordPolicy.skip)
    assert len(out) == 1 and stats.bad["missing field"] == 1


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n", "utf-8")
    with pytest.raises(DataFileError, match=rf"{path}: file is empty"):
        docs(SourceConfig(path=str(path)))


def test_undecodable_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("好的\n\n".encode() + b"caf\xe9\n\n" + "再見\n".encode())
    with pytest.raises(DataFileError, match=rf"{path}:3: not UTF-8 text"):
        docs(SourceConfig(path=str(path)))
    out, stats = docs(SourceConfig(path=str(path)), on_bad_record=BadRecordPolicy.skip)
    assert [t for _, t in out] == ["好的", "再見"] and stats.bad["not UTF-8 text"] == 1


def test_conversation_without_assistant_turn_names_the_line(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]},
    ]
    path = write_jsonl(tmp_path / "chat.jsonl", rows)
    with pytest.raises(DataFileError, match=rf"{path}:2: conversation has no assistant turn"):
        convs(SourceConfig(path=str(path), schema="openai"))
    out, stats = convs(SourceConfig(path=str(path), schema="openai"), on_bad_record="skip")
    assert len(out) == 1 and stats.bad["conversation has no assistant turn"] == 1


def test_over_long_document_names_the_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "long.jsonl", [{"text": "short"}, {"text": "x" * 5000}])
    with pytest.raises(DataFileError, match=rf"{path}:2: over-long document"):
        docs(SourceConfig(path=str(path)), max_doc_chars=1000)
    out, stats = docs(SourceConfig(path=str(path)), max_doc_chars=1000, on_bad_record="skip")
    assert len(out) == 1 and stats.bad["over-long document"] == 1


def test_missing_alpaca_field_names_the_item(tmp_path: Path) -> None:
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps([{"instruction": "q", "output": "a"}, {"instruction": "q"}]))
    with pytest.raises(DataFileError, match=rf"{path}: item 1: no field 'output'"):
        convs(SourceConfig(path=str(path), schema="alpaca"))


def test_cleaning_steps_count_what_they_remove(tmp_path: Path) -> None:
    texts = ["ＡＢＣ全形", "重複的段落", "重複的段落", "短", "English only text here", "x" * 300]
    path = write_jsonl(tmp_path / "c.jsonl", [{"text": t} for t in texts])
    clean = CleanConfig(nfkc=True, dedup=True, min_chars=2, max_chars=200, min_cjk_share=0.3)
    out, stats = docs(SourceConfig(path=str(path)), clean=clean)
    assert [t for _, t in out] == ["ABC全形", "重複的段落"]
    c = stats.cleaning
    assert (c["seen"], c["kept"], c["nfkc_changed"]) == (6, 2, 1)
    assert c["removed_duplicate"] == 1 and c["removed_too_short"] == 1
    assert c["removed_too_long"] == 1 and c["removed_cjk_share_too_low"] == 1
