"""Stream records out of local data files, with errors that name the file and line.

Formats: plain text (``text``: documents separated by blank lines; ``lines``: one document a
line), JSONL, JSON (a top-level list, or one object walked with a field path) and Parquet.
Text, JSONL and Parquet are read incrementally, so a corpus larger than memory streams;
a ``.json`` file is one JSON value and has to be parsed whole.

Bad data (undecodable bytes, malformed JSON, empty files, missing fields) goes through a
:class:`BadRecords` policy: raise a :class:`DataFileError` naming ``file:line``, or skip the
record and count it, so a long preprocessing run can report what it dropped instead of dying.
"""

from __future__ import annotations

import glob
import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

BUNDLED = "bundled"
DATA_SUFFIXES = (".txt", ".jsonl", ".json", ".parquet")
FORMAT_BY_SUFFIX = {".txt": "text", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}


class DataFileError(ValueError):
    """A data file cannot be read; the message names the file and, where known, the line."""


class BadRecords:
    """The ``on_bad_record`` policy: ``error`` raises, ``skip`` counts the problem by kind."""

    def __init__(self, policy: str = "error", counts: Counter[str] | None = None) -> None:
        self.policy = str(getattr(policy, "value", policy))
        self.counts: Counter[str] = Counter() if counts is None else counts

    def __call__(self, where: str, kind: str, detail: str = "") -> None:
        if self.policy == "error":
            raise DataFileError(f"{where}: {kind}" + (f" ({detail})" if detail else ""))
        self.counts[kind] += 1


@dataclass(frozen=True)
class Record:
    """One record and where it came from (``file:line``, ``file: row N``, ...)."""

    where: str
    value: Any


def bundled_files() -> list[Path]:
    """The sample corpus shipped with the package (Traditional Chinese and English)."""
    folder = resources.files("bailong.data") / "sample"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


def bundled_file(name: str) -> Path:
    """A named file of the bundled samples (e.g. the SFT sample)."""
    return Path(str(resources.files("bailong.data") / "sample" / name))


def resolve_files(files: Sequence[str]) -> list[Path]:
    """Expand ``bundled``, ``bundled/<name>``, globs and directories (their data files)."""
    out: list[Path] = []
    for name in files:
        if name == BUNDLED:
            out.extend(bundled_files())
            continue
        if name.startswith(BUNDLED + "/"):
            out.append(bundled_file(name.removeprefix(BUNDLED + "/")))
            continue
        path = Path(name).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in DATA_SUFFIXES))
        elif not path.exists() and glob.has_magic(name):
            out.extend(sorted(Path(p) for p in glob.glob(str(path), recursive=True)))
        else:
            out.append(path)
    return out


def file_format(path: Path, fmt: str = "auto") -> str:
    if fmt != "auto":
        return fmt
    if path.suffix not in FORMAT_BY_SUFFIX:
        raise DataFileError(f"{path}: cannot tell the format from the suffix; set format")
    return FORMAT_BY_SUFFIX[path.suffix]


NUL = "\0"
BOM = "\ufeff"  # a UTF-8 byte-order mark opening a file (Windows editors write one)
# json.loads recurses once per nesting level and raises RecursionError past Python's limit
TOO_DEEP = "nested deeper than the JSON parser allows (a record is a flat object of fields)"


def _decoded_lines(path: Path, bad: BadRecords) -> Iterator[tuple[int, str]]:
    """(line number, text) pairs; a line that is not UTF-8, or holds a NUL character (binary
    data that happens to decode), goes to the bad-record policy."""
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                bad(f"{path}:{lineno}", "not UTF-8 text", err.reason)
                continue
            if NUL in text:
                bad(f"{path}:{lineno}", "NUL character", f"at character {text.index(NUL)}")
                continue
            yield lineno, text.removeprefix(BOM) if lineno == 1 else text


def _paragraphs(path: Path, bad: BadRecords) -> Iterator[Record]:
    start, lines = 0, []
    for lineno, line in _decoded_lines(path, bad):
        if line.strip():
            start = start or lineno
            lines.append(line)
        elif lines:
            yield Record(f"{path}:{start}", "".join(lines).strip())
            start, lines = 0, []
    if lines:
        yield Record(f"{path}:{start}", "".join(lines).strip())


def _lines(path: Path, bad: BadRecords) -> Iterator[Record]:
    for lineno, line in _decoded_lines(path, bad):
        if line.strip():
            yield Record(f"{path}:{lineno}", line.strip())


def _jsonl(path: Path, bad: BadRecords) -> Iterator[Record]:
    for lineno, line in _decoded_lines(path, bad):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            bad(f"{path}:{lineno}", "malformed JSON", err.msg)
            continue
        except RecursionError:
            bad(f"{path}:{lineno}", "malformed JSON", TOO_DEEP)
            continue
        yield Record(f"{path}:{lineno}", value)


def _json(path: Path, bad: BadRecords) -> Iterator[Record]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        bad(f"{path}:{line}", "not UTF-8 text", err.reason)
        return
    try:
        value = json.loads(text.removeprefix(BOM))
    except json.JSONDecodeError as err:
        bad(f"{path}:{err.lineno}", "malformed JSON", err.msg)
        return
    except RecursionError:
        bad(str(path), "malformed JSON", TOO_DEEP)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield Record(f"{path}: item {i}", item)
    else:
        yield Record(str(path), value)


def _parquet(path: Path, bad: BadRecords) -> Iterator[Record]:
    import pyarrow
    import pyarrow.parquet as pq

    row = 0
    try:
        parquet = pq.ParquetFile(path)
    except pyarrow.ArrowException as err:
        raise DataFileError(f"{path}: not a readable Parquet file ({err})") from None
    for batch in parquet.iter_batches(batch_size=1024):
        for item in batch.to_pylist():
            yield Record(f"{path}: row {row}", item)
            row += 1


READERS = {
    "text": _paragraphs,
    "lines": _lines,
    "jsonl": _jsonl,
    "json": _json,
    "parquet": _parquet,
}


def read_records(path: Path, fmt: str, bad: BadRecords) -> Iterator[Record]:
    """The records of one file; a missing or record-less file goes to the bad-record policy."""
    if not path.is_file():  # a FIFO or device would block or never end
        problem = "not a regular file" if path.exists() else "no such file"
        raise DataFileError(f"{path}: {problem}")
    n = 0
    for record in READERS[file_format(path, fmt)](path, bad):
        n += 1
        yield record
    if n == 0:
        bad(str(path), "file is empty")


_PART = re.compile(r"^(?P<key>[^\[\]]*)(?P<index>\[\d*\])?$")


def extract(value: Any, field_path: str, where: str) -> Iterator[tuple[str, Any]]:
    """Walk ``field_path`` (``a.b``, ``a[]`` = every item, ``a[2]`` = one item) from ``value``.

    Yields ``(location, leaf)``; a missing key raises ``KeyError`` whose message names the
    location, so callers can hand it to the bad-record policy.
    """
    parts = field_path.split(".") if field_path else []

    def walk(node: Any, i: int, loc: str) -> Iterator[tuple[str, Any]]:
        if i == len(parts):
            yield loc, node
            return
        match = _PART.match(parts[i])
        if match is None:
            raise ValueError(f"bad field path {field_path!r} at {parts[i]!r}")
        key, index = match["key"], match["index"]
        if key:
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"no field {key!r} at {loc or 'top level'}")
            node, loc = node[key], f"{loc}.{key}" if loc else key
        if index is None:
            yield from walk(node, i + 1, loc)
            return
        if not isinstance(node, list):
            raise KeyError(f"{loc or 'top level'} is not a list")
        picks = range(len(node)) if index == "[]" else [int(index[1:-1])]
        for j in picks:
            if j >= len(node):
                raise KeyError(f"{loc}[{j}] is out of range")
            yield from walk(node[j], i + 1, f"{loc}[{j}]")

    try:
        yield from walk(value, 0, "")
    except KeyError as err:
        raise KeyError(f"{where}: {err.args[0]}") from None


def as_text(leaf: Any) -> str | None:
    """A leaf as text: strings as they are, lists of strings joined by lines (e.g. poems)."""
    if isinstance(leaf, str):
        return leaf
    if isinstance(leaf, list) and all(isinstance(x, str) for x in leaf):
        return "\n".join(leaf)
    return None
