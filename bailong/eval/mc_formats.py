"""Multiple-choice sets as they are published, read strictly into one record shape.

Public Traditional Chinese sets come in several layouts, and each loads without conversion:

* a JSON object keyed by id (TC-Eval: ``{"0": {"question", "choices", "answer"}, ...}``;
  TCIC: ``{"prompt", "A", "B", "C", "D", "mc_answer"}``; PenguinsInTable: ids ``train-0``),
* a JSON list of records, JSON Lines, or a CSV with one option per column (TMMLU+ style),
* TMMLU's subjects folder (``<subject>/data.csv``: ``content.Q`` with the options written
  inline as (A)…(D), ``content.A`` the answer letter).

Fields are found by name (``question`` or ``prompt``; ``choices`` or letter fields ``A``,
``B``, …; ``answer`` or ``mc_answer``), the first that holds a value (a record with
``"question": null`` and its text under ``prompt`` reads ``prompt``; an ``answer`` holding
the choice text and an ``mc_answer`` holding its letter must agree), or named explicitly with
:class:`FieldMap`. Answers
are parsed strictly: an integer index, one letter, or text equal to exactly one choice.
Anything else (``""``, ``"CD"``, ``1.7``, ``true``) is an error naming the file, the record
id and the field, never a guess. A CSV quote that never closes is named with its row, line
and column rather than read as one field swallowing the rest of the file. What scores but may
mislead is warned about by record: choices with the same text (they cannot be told apart),
and a record with fewer choices than the file's others (its chance level differs).

Why one file: every layout is read by the same strict field, answer and record rules and
fails with the same ``RecordError``; split up, each part would import the others back.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LETTERS = "ABCDEFGHIJ"
# "(A)", "（A）", "( A )": the inline option markers of TMMLU questions.
_MARKER = re.compile(r"[(（]\s*([A-J])\s*[)）]")
QUESTION_KEYS = ("question", "prompt")
CHOICES_KEYS = ("choices", "options")
ANSWER_KEYS = ("answer", "mc_answer")
FILE_FORMATS = ("json", "jsonl", "csv")


class RecordError(ValueError):
    """A multiple-choice record that cannot be read without guessing."""


@dataclass(frozen=True)
class MCRecord:
    id: str
    question: str
    choices: list[str]
    answer: int  # index into choices
    subject: str


@dataclass
class FieldMap:
    """Field names of a record; None finds them by the usual names."""

    question: str | None = None
    choices: str | None = None  # a list field; None: `choices`/`options`, else fields A, B, …
    answer: str | None = None
    subject: str | None = None  # None: `subject` when present, else the file's stem
    id: str | None = None  # None: the JSON object key, `id` field, or the line/row number


def _fail(path: Path, rec_id: str, field: str, problem: str) -> RecordError:
    return RecordError(f"{path}: record {rec_id}: field {field!r}: {problem}")


def parse_answer(value: Any, choices: Sequence[str]) -> int:
    """The index ``value`` denotes: an int index, one letter (A = 0), or the text of exactly
    one choice; ValueError for anything else (bools, floats, empty, several letters)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not an index, a letter or a choice text")
    if isinstance(value, int):
        if not 0 <= value < len(choices):
            raise ValueError(f"index {value} is not among {len(choices)} choices")
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} ({type(value).__name__}) is not an index, letter or text")
    text = value.strip()
    by_text = [i for i, c in enumerate(choices) if c.strip() == text]
    by_letter = LETTERS.index(text) if len(text) == 1 and text in LETTERS else None
    if by_letter is not None and by_letter >= len(choices):
        by_letter = None
        if not by_text:
            raise ValueError(f"letter {text!r} is beyond the {len(choices)} choices")
    if len(by_text) > 1:
        raise ValueError(f"{value!r} equals choices {by_text}: ambiguous")
    if by_text and by_letter is not None and by_text[0] != by_letter:
        raise ValueError(f"{value!r} is letter {by_letter} but the text of choice {by_text[0]}")
    if by_text:
        return by_text[0]
    if by_letter is not None:
        return by_letter
    raise ValueError(f"{value!r} is not an index, one letter A-J, or the text of a choice")


def _pick(rec: dict[str, Any], explicit: str | None, usual: Sequence[str]) -> str | None:
    """The explicit field, else the first usual one holding a value (not null, not blank)."""
    if explicit is not None:
        return explicit if explicit in rec else None
    filled = [k for k in usual if k in rec and rec[k] is not None and str(rec[k]).strip()]
    return next(iter(filled), next((k for k in usual if k in rec), None))


def parse_record(
    rec: Any, path: Path, rec_id: str, fields: FieldMap, default_subject: str
) -> MCRecord:
    """One raw record → MCRecord, or a RecordError naming file, record and field."""
    if not isinstance(rec, dict):
        raise _fail(path, rec_id, "*", f"expected an object, got {type(rec).__name__}")
    q_key = _pick(rec, fields.question, QUESTION_KEYS)
    if q_key is None or not isinstance(rec[q_key], str) or not rec[q_key].strip():
        wanted = fields.question or "/".join(QUESTION_KEYS)
        raise _fail(path, rec_id, wanted, f"missing or empty (keys: {sorted(rec)})")
    c_key = _pick(rec, fields.choices, CHOICES_KEYS)
    if c_key is not None:
        raw = rec[c_key]
        if not isinstance(raw, list) or len(raw) < 2:
            raise _fail(path, rec_id, c_key, f"needs a list of at least 2 options, got {raw!r}")
        choices = [str(c) for c in raw]
    elif fields.choices is not None:
        raise _fail(path, rec_id, fields.choices, f"missing (keys: {sorted(rec)})")
    else:
        c_key = "A, B, ..."
        choices = [str(rec[x]) for x in _letter_run(rec)]
        if len(choices) < 2:
            raise _fail(path, rec_id, "choices", f"no list and no fields A, B, … ({sorted(rec)})")
    a_key = _pick(rec, fields.answer, ANSWER_KEYS)
    if a_key is None:
        raise _fail(path, rec_id, fields.answer or "/".join(ANSWER_KEYS), "missing")
    try:
        answer = parse_answer(rec[a_key], choices)
    except ValueError as err:
        raise _fail(path, rec_id, a_key, str(err)) from None
    for other in ANSWER_KEYS if fields.answer is None else ():
        value = rec.get(other)
        if other == a_key or value is None or not str(value).strip():
            continue
        try:
            agrees = parse_answer(value, choices) == answer
        except ValueError:
            agrees = False
        if not agrees:
            raise _fail(path, rec_id, other, f"{value!r} disagrees with {a_key}={rec[a_key]!r}")
    s_key = _pick(rec, fields.subject, ("subject",))
    subject = str(rec[s_key]) if s_key is not None else default_subject
    return MCRecord(rec_id, rec[q_key].strip(), choices, answer, subject)


def _letter_run(rec: dict[str, Any]) -> list[str]:
    """Fields A, B, C, … present in order (the options of TCIC/TMMLU+ layouts)."""
    run = []
    for letter in LETTERS:
        if letter not in rec or rec[letter] is None or str(rec[letter]) == "":
            break
        run.append(letter)
    return run


def _raw_records(path: Path, fmt: str) -> Iterator[tuple[str, Any]]:
    """(id, raw record) of a JSON / JSON Lines / CSV file."""
    text = path.read_text(encoding="utf-8-sig")
    if fmt == "jsonl":
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield f"line {lineno}", json.loads(line)
                except json.JSONDecodeError as err:
                    raise RecordError(f"{path}:{lineno}: malformed JSON ({err.msg})") from None
    elif fmt == "csv":
        yield from _csv_rows(path, text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordError(
                f"{path}: malformed JSON at line {err.lineno} column {err.colno} ({err.msg}); "
                "JSON Lines files need the .jsonl suffix or format=jsonl"
            ) from None
        if isinstance(data, dict):
            yield from ((str(k), v) for k, v in data.items())
        elif isinstance(data, list):
            yield from ((f"index {i}", v) for i, v in enumerate(data))
        else:
            raise RecordError(f"{path}: expected a JSON object keyed by id or a list of records")


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """(``row N``, row) of a CSV file; an unterminated quote is named, not read as one field
    that swallows the rest of the file."""
    lines = text.splitlines()
    reader = csv.DictReader(lines, strict=True)
    rowno, row_start = 1, 2  # the header is row 1; row_start is the line a row begins on
    try:
        for rowno, row in enumerate(reader, start=2):
            if None in row or any(v is not None and "\n" in v for v in row.values()):
                _multi_line_row(path, rowno, row_start, lines, reader.fieldnames or [])
            yield f"row {rowno}", row
            row_start = reader.line_num + 1
    except csv.Error as err:
        _multi_line_row(path, rowno + 1, row_start, lines, reader.fieldnames or [], str(err))


def _multi_line_row(
    path: Path, rowno: int, line: int, lines: Sequence[str], header: Sequence[str], why: str = ""
) -> None:
    """Refuse a row whose quote opened on ``line`` and never closed on it (rows of published
    MC files are one line; a quoted line break is almost always a lost closing quote)."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    start = text.find('"')
    column = text[: max(start, 0)].count(",")
    name = header[column] if column < len(header) else f"column {column + 1}"
    raise RecordError(
        f"{path}: record row {rowno}: field {name!r}: the quote opened on line {line} is not "
        f"closed on that line{f' ({why})' if why else ''}; close it, or double a quote "
        'inside a quoted field ("")'
    )


def mc_file_notes(path: Path, records: Sequence[MCRecord]) -> list[str]:
    """What scores but may mislead: repeated choice texts, fewer choices than the others."""
    notes = []
    usual = Counter(len(r.choices) for r in records).most_common(1)[0][0]
    for r in records:
        texts = Counter(c.strip() for c in r.choices)
        repeated = sorted(t for t, n in texts.items() if n > 1)
        if repeated:
            notes.append(
                f"{path}: record {r.id}: choices {repeated} appear more than once; a model "
                "cannot pick one of them over the other"
            )
        if len(r.choices) < usual:
            notes.append(
                f"{path}: record {r.id}: {len(r.choices)} choices where the file's records "
                f"have {usual}; its chance level is higher, so its score is not comparable"
            )
    return notes


def file_format(path: Path, fmt: str) -> str:
    """``auto`` → json | jsonl | csv by the file's suffix."""
    if fmt != "auto":
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FILE_FORMATS:
        return suffix
    raise RecordError(f"{path}: cannot tell the format from {path.suffix!r}; set format")


def load_file(path: Path, fmt: str = "auto", fields: FieldMap | None = None) -> list[MCRecord]:
    """Every record of one JSON / JSONL / CSV multiple-choice file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such multiple-choice file")
    fields = fields or FieldMap()
    out, seen = [], set()
    for key, raw in _raw_records(path, file_format(path, fmt)):
        rec_id = key
        if isinstance(raw, dict):
            id_key = fields.id or "id"
            rec_id = str(raw[id_key]) if raw.get(id_key) not in (None, "") else key
        if rec_id in seen:
            raise _fail(path, rec_id, fields.id or "id", "duplicate id")
        seen.add(rec_id)
        out.append(parse_record(raw, path, rec_id, fields, path.stem))
    if not out:
        raise RecordError(f"{path}: no records")
    for note in mc_file_notes(path, out):
        warnings.warn(note, stacklevel=2)
    return out


def split_inline_options(text: str) -> tuple[str, list[str]] | None:
    """``"stem (A)x (B)y (C)z (D)w"`` → (stem, [x, y, z, w]); None without an A, B, C… run.

    The last run of markers A, B, C, … in order is taken, so an "(A)" quoted in the stem does
    not split it.
    """
    marks = list(_MARKER.finditer(text))
    for first in range(len(marks) - 1, -1, -1):
        if marks[first].group(1) != "A":
            continue
        run = [marks[first]]
        for m in marks[first + 1 :]:
            if m.group(1) == LETTERS[len(run)]:
                run.append(m)
        if len(run) < 2:
            continue
        stem = text[: run[0].start()].strip()
        bounds = [m.end() for m in run]
        ends = [m.start() for m in run[1:]] + [len(text)]
        pieces = [text[b:e] for b, e in zip(bounds, ends, strict=True)]
        options = [p.strip().rstrip("。.").strip() for p in pieces]
        return stem, options
    return None


def load_tmmlu(
    folder: Path, subjects: Sequence[str] = (), max_per_subject: int | None = None
) -> tuple[list[MCRecord], dict[str, int]]:
    """TMMLU ``<subject>/data.csv`` files. Returns the questions and, per subject, how many
    essay questions (no options to choose from) were skipped; an answer letter that is not
    among a question's options is an error."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no TMMLU subjects folder")
    available = sorted(p.parent.name for p in folder.glob("*/data.csv"))
    unknown = sorted(set(subjects) - set(available))
    if unknown:
        raise ValueError(f"unknown TMMLU subjects {unknown}; available: {available}")
    records: list[MCRecord] = []
    skipped: dict[str, int] = {}
    for subject in subjects or available:
        path = folder / subject / "data.csv"
        kept, skipped[subject] = 0, 0
        with open(path, encoding="utf-8", newline="") as handle:
            for rowno, row in enumerate(csv.DictReader(handle), start=2):
                parsed = split_inline_options(row["content.Q"])
                if parsed is None:
                    skipped[subject] += 1
                    continue
                if max_per_subject is not None and kept >= max_per_subject:
                    break
                letter = row["content.A"].strip()
                if len(letter) != 1 or letter not in LETTERS[: len(parsed[1])]:
                    raise _fail(path, f"row {rowno}", "content.A", f"{letter!r} is not an option")
                index = LETTERS.index(letter)
                records.append(MCRecord(f"row {rowno}", parsed[0], parsed[1], index, subject))
                kept += 1
    return records, skipped
