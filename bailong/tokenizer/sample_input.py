"""What the sample tokenizer trains on: the run's text, checked before SentencePiece sees it.

SentencePiece reads its input files as lines of text and names no file when something is
wrong, so the files pass the data pipeline's own checks first (regular file, UTF-8, not
empty, JSON that parses), and:

* JSONL, JSON and Parquet records are not text: their text field (``data.text_field``) is
  written out one line per document line, and a record without it, or with a non-text value
  there, is named with its file, record and field (SentencePiece would otherwise train on the
  file's bytes and fail on the vocabulary size);
* SentencePiece drops lines longer than ``max_sentence_length`` bytes; when that would drop
  most of the text (a 50 MB file on one line ends in an internal error), the first such line
  is named with its size and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from bailong.data.documents import (
    BadRecords,
    DataFileError,
    as_text,
    extract,
    file_format,
    read_records,
)
from bailong.tokenizer.train import MAX_SENTENCE_BYTES

TEXT_FORMATS = ("text", "lines")


def record_texts(path: Path, fmt: str, text_field: str) -> Iterator[tuple[str, str]]:
    """``(where, text)`` of each record's text field; a missing or non-text field is an error."""
    for rec in read_records(path, fmt, BadRecords()):
        try:
            leaves = list(extract(rec.value, text_field, rec.where))
        except KeyError as err:
            raise DataFileError(f"{err.args[0]} (the text field, data.text_field)") from None
        for loc, leaf in leaves:
            text = as_text(leaf)
            if text is None:
                raise DataFileError(
                    f"{rec.where}: field {loc or text_field!r} holds {type(leaf).__name__}, not "
                    "text (the text field, data.text_field)"
                )
            yield rec.where, text


def file_lines(path: Path) -> Iterator[tuple[str, int]]:
    """``(file:line, size in bytes)`` of each line of a text file, read line by line."""
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            yield f"{path}:{lineno}", len(raw.rstrip(b"\r\n"))


def check_line_lengths(lines: Iterator[tuple[str, int]], limit: int = MAX_SENTENCE_BYTES) -> None:
    """Refuse input whose over-long lines hold more of the text than the lines SentencePiece
    keeps, naming the first over-long line."""
    kept = dropped = 0
    first = None
    for where, size in lines:
        if size > limit:
            dropped += size
            first = first or (where, size)
        else:
            kept += size
    if first is not None and dropped > kept:
        where, size = first
        raise DataFileError(
            f"{where}: a line of {size} bytes; SentencePiece trains on lines of at most {limit} "
            f"bytes and would drop {dropped} of the {dropped + kept} bytes of text. Break the "
            "text into lines or paragraphs (one document per line or per blank-line block)"
        )


def sentencepiece_inputs(files: Sequence[Path], text_field: str, workdir: Path) -> list[Path]:
    """The files SentencePiece reads: plain text files as they are, the text field of every
    other format written to ``workdir``; each checked as the module docstring says."""
    inputs = []
    for i, path in enumerate(files):
        fmt = file_format(Path(path))
        if fmt in TEXT_FORMATS:
            for _ in read_records(Path(path), fmt, BadRecords()):
                pass
            check_line_lengths(file_lines(Path(path)))
            inputs.append(Path(path))
            continue
        out = workdir / f"{i}-{Path(path).stem}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        sizes = []
        with out.open("w", encoding="utf-8") as handle:
            for where, text in record_texts(Path(path), fmt, text_field):
                for line in text.splitlines():
                    if line.strip():
                        handle.write(line.strip() + "\n")
                        sizes.append((where, len(line.strip().encode("utf-8"))))
        check_line_lengths(iter(sizes))
        inputs.append(out)
    return inputs
