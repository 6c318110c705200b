"""Every public multiple-choice layout loads as it is; bad answers are errors naming file,
record and field, never guesses (fixtures: tests/fixtures/mc/, one small file per layout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bailong.eval.mc_formats import (
    FieldMap,
    RecordError,
    load_file,
    load_tmmlu,
    parse_answer,
    split_inline_options,
)
from tests.conftest import require_shared

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mc"


def test_tc_eval_object_keyed_by_id() -> None:
    records = load_file(FIXTURES / "tc_eval_keyed.json")
    assert [r.id for r in records] == ["0", "1", "2", "3"]
    assert [r.answer for r in records] == [0, 1, 2, 1]  # index, index, letter, choice text
    assert records[0].choices == ["玉山", "雪山", "合歡山", "阿里山"]
    assert {r.subject for r in records} == {"tc_eval_keyed"}


def test_tcic_prompt_letter_fields_and_mc_answer() -> None:
    records = load_file(FIXTURES / "tcic.json")
    assert [(r.id, r.answer) for r in records] == [("q-01", 0), ("q-02", 1), ("q-03", 3)]
    assert records[2].choices == ["李白", "杜甫", "王維", "孟浩然"]
    assert records[0].question.startswith("閱讀下文")


def test_penguins_question_choices_answer_with_split_ids() -> None:
    records = load_file(FIXTURES / "penguins_in_table.json")
    assert [(r.id, r.answer, len(r.choices)) for r in records] == [
        ("train-0", 3, 5),
        ("train-1", 2, 5),
        ("test-0", 1, 5),
    ]


def test_jsonl_csv_and_tmmlu_folder() -> None:
    jsonl = load_file(FIXTURES / "records.jsonl")
    assert [(r.id, r.subject, r.answer) for r in jsonl] == [
        ("line 1", "數學", 1),
        ("line 2", "數學", 1),
        ("line 3", "地理", 0),
    ]
    csv_rows = load_file(FIXTURES / "tmmlu_plus.csv")
    rows = [(r.id, r.choices[0], r.answer) for r in csv_rows]
    assert rows == [("row 2", "亞洲", 0), ("row 3", "臺灣", 0)]
    records, skipped = load_tmmlu(FIXTURES / "tmmlu")
    assert skipped == {"地理": 1, "歷史": 0}  # the essay question has no options
    assert [(r.subject, r.answer) for r in records] == [
        ("地理", 0),
        ("地理", 1),
        ("地理", 3),
        ("歷史", 1),
        ("歷史", 0),
    ]
    assert records[0].choices == ["濁水溪", "高屏溪", "淡水河", "曾文溪"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("", "not an index, one letter"),
        ("CD", "not an index, one letter"),
        (1.7, "float"),
        (1.0, "float"),
        (True, "not an index, a letter"),
        (None, "not an index, a letter"),
        (4, "index 4 is not among 4 choices"),
        (-1, "index -1"),
        ("E", "letter 'E' is beyond the 4 choices"),
        ("2", "not an index, one letter"),  # a digit string: 0- or 1-based? never guessed
        ("大安", "not an index, one letter"),
    ],
)
def test_bad_answers_name_file_record_and_field(tmp_path: Path, answer, problem: str) -> None:
    path = tmp_path / "set.json"
    good = {"question": "q", "choices": ["甲", "乙", "丙", "丁"], "answer": 0}
    bad = {"question": "q", "choices": ["甲", "乙", "丙", "丁"], "answer": answer}
    path.write_text(json.dumps({"ok-1": good, "bad-7": bad}, ensure_ascii=False), "utf-8")
    with pytest.raises(RecordError) as err:
        load_file(path)
    message = str(err.value)
    assert str(path) in message and "record bad-7" in message and "'answer'" in message
    assert problem in message


def test_answer_text_and_letter_must_agree() -> None:
    assert parse_answer("B", ["A", "B", "C"]) == 1  # letter and text agree
    with pytest.raises(ValueError, match="letter 0 but the text of choice 1"):
        parse_answer("A", ["B", "A", "C"])
    with pytest.raises(ValueError, match="ambiguous"):
        parse_answer("是", ["是", "否", "是"])
    assert parse_answer(" 乙 ", ["甲", "乙"]) == 1


def test_other_bad_records_and_files_are_named(tmp_path: Path) -> None:
    jsonl = tmp_path / "x.jsonl"
    good = '{"question": "q", "choices": ["a", "b"], "answer": 0}\n'
    jsonl.write_text(good + '{"question": ', "utf-8")
    with pytest.raises(RecordError, match=r"x\.jsonl:2: malformed JSON"):
        load_file(jsonl)
    as_json = tmp_path / "y.json"
    as_json.write_text('{"question": "q", "choices": ["a", "b"], "answer": 0}\n{"a": 1}\n', "utf-8")
    with pytest.raises(RecordError, match=r"y\.json: malformed JSON at line 2.*\.jsonl"):
        load_file(as_json)
    missing = tmp_path / "z.json"
    missing.write_text('{"k1": {"question": "q", "answer": 0}}', "utf-8")
    with pytest.raises(RecordError, match=r"z\.json: record k1: field 'choices'"):
        load_file(missing)
    no_answer = tmp_path / "w.json"
    no_answer.write_text('[{"question": "q", "choices": ["a", "b"]}]', "utf-8")
    with pytest.raises(RecordError, match=r"record index 0: field 'answer/mc_answer': missing"):
        load_file(no_answer)
    (tmp_path / "v.txt").write_text("x", "utf-8")
    with pytest.raises(RecordError, match="cannot tell the format"):
        load_file(tmp_path / "v.txt")


def test_explicit_field_map(tmp_path: Path) -> None:
    path = tmp_path / "custom.jsonl"
    path.write_text(
        json.dumps({"key": "k9", "stem": "問", "opts": ["甲", "乙"], "gold": "乙", "cat": "c"})
        + "\n",
        "utf-8",
    )
    fields = FieldMap(question="stem", choices="opts", answer="gold", subject="cat", id="key")
    [record] = load_file(path, fields=fields)
    assert (record.id, record.question, record.answer, record.subject) == ("k9", "問", 1, "c")
    with pytest.raises(RecordError, match=r"record line 1: field 'opts2': missing"):
        load_file(path, fields=FieldMap(question="stem", choices="opts2", answer="gold"))


def test_split_inline_options() -> None:
    assert split_inline_options("1. 何者正確(A)甲(B)乙(C)丙(D)丁。") == (
        "1. 何者正確",
        ["甲", "乙", "丙", "丁"],
    )
    stem, opts = split_inline_options("引用「(A)」的題目？\n（A） 一 （B） 二\n(C) 三 (D) 四")
    assert stem == "引用「(A)」的題目？" and opts == ["一", "二", "三", "四"]
    assert split_inline_options("請說明其原因。（4分）") is None


def test_tmmlu_loads_every_subject() -> None:
    folder = require_shared("eval/tmmlu/subjects")
    questions, skipped = load_tmmlu(folder)
    assert len({q.subject for q in questions}) == 50
    assert len(questions) + sum(skipped.values()) == 3313
    assert sum(skipped.values()) == 53  # essay questions, no options to choose from
    some, _ = load_tmmlu(folder, ["企業管理"], max_per_subject=3)
    assert len(some) == 3 and {q.subject for q in some} == {"企業管理"}
    with pytest.raises(ValueError, match="unknown TMMLU subjects"):
        load_tmmlu(folder, ["no-such-subject"])


def test_a_published_layout_with_a_null_question_reads_the_prompt(tmp_path: Path) -> None:
    """TCIC-like: the text under ``prompt``, ``question`` null; ``answer`` the choice text and
    ``mc_answer`` its letter."""
    records = {
        "q1": {"question": None, "prompt": "臺灣最高的山？", "A": "玉山", "B": "雪山",
               "C": "合歡山", "D": "阿里山", "answer": "玉山", "mc_answer": "A"},
        "q2": {"question": None, "prompt": "二加二？", "A": "三", "B": "四",
               "C": "五", "D": "六", "answer": "四", "mc_answer": "B"},
    }  # fmt: skip
    path = tmp_path / "tcic.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    loaded = load_file(path)
    assert [(r.id, r.question, r.answer) for r in loaded] == [
        ("q1", "臺灣最高的山？", 0),
        ("q2", "二加二？", 1),
    ]
    records["q2"]["mc_answer"] = "C"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RecordError, match=r"record q2: field 'mc_answer': 'C' disagrees with"):
        load_file(path)


def test_an_unterminated_csv_quote_is_named_by_row_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "mc.csv"
    path.write_text('question,A,B,answer\nq1,x,y,A\nq2,"x,y,B\nq3,x,y,A\nq4,x,y,B\n', "utf-8")
    with pytest.raises(RecordError, match=rf"{path}: record row 3: field 'A': the quote opened "):
        load_file(path)


def test_repeated_choices_and_a_short_record_are_warned_about_by_record(tmp_path: Path) -> None:
    rows = [
        {"question": "a", "choices": ["x", "x ", "y", "z"], "answer": 2},
        {"question": "b", "choices": ["p", "q"], "answer": 0},
        {"question": "c", "choices": ["p", "q", "r", "s"], "answer": 0},
    ]
    path = tmp_path / "mc.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.warns(UserWarning) as caught:
        assert len(load_file(path)) == 3
    notes = sorted(str(w.message) for w in caught)
    assert notes == [
        f"{path}: record line 1: choices ['x'] appear more than once; a model cannot pick one "
        "of them over the other",
        f"{path}: record line 2: 2 choices where the file's records have 4; its chance level "
        "is higher, so its score is not comparable",
    ]
