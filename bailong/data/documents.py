"""Read documents from plain-text and JSONL files, with errors that name the file and line.

Plain text: documents are separated by blank lines (one paragraph = one document).
JSONL: one JSON object per line, the document under ``text_field``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

BUNDLED = "bundled"


class DataFileError(ValueError):
    """A data file cannot be read; the message names the file and, where known, the line."""


def bundled_files() -> list[Path]:
    """The sample corpus shipped with the package (Traditional Chinese and English)."""
    folder = resources.files("bailong.data") / "sample"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


def resolve_files(files: Sequence[str]) -> list[Path]:
    """Expand the ``bundled`` keyword and user paths (a directory means its .txt/.jsonl files)."""
    out: list[Path] = []
    for name in files:
        if name == BUNDLED:
            out.extend(bundled_files())
            continue
        path = Path(name).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl")))
        else:
            out.append(path)
    return out


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{line}: not UTF-8 text ({err.reason})") from None


def read_documents(path: Path, text_field: str = "text") -> Iterator[str]:
    """Yield the non-empty documents of one file."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    text = _read_text(path)
    if not text.strip():
        raise DataFileError(f"{path}: file is empty")
    if path.suffix == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataFileError(f"{path}:{lineno}: malformed JSON ({err.msg})") from None
            if not isinstance(record, dict) or text_field not in record:
                raise DataFileError(f"{path}:{lineno}: no field {text_field!r}")
            if doc := str(record[text_field]).strip():
                yield doc
    else:
        for paragraph in text.split("\n\n"):
            if doc := paragraph.strip():
                yield doc
