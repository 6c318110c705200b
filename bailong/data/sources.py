"""Data sources from config: lazy streams of cleaned documents or conversations.

A source is local files (any format :mod:`bailong.data.documents` reads) or a Hugging Face
``datasets`` name, streamed (only hub names need the network; local files never touch it).
Each call opens a fresh pass, so a mix can re-read a small source and nothing is held in
memory beyond one record. The train/validation split is decided per record by a seeded
hash of its position in the source, so it is the same on every pass and needs no index.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bailong.data.chat import BadConversation, Message, normalize_conversation, read_conversation
from bailong.data.clean import Cleaner
from bailong.data.config import DataConfig, SourceConfig
from bailong.data.crosslingual import translation_conversations
from bailong.data.documents import (
    BadRecords,
    DataFileError,
    Record,
    as_text,
    extract,
    read_records,
    resolve_files,
)

T = TypeVar("T")


@dataclass
class Source:
    """A configured source with its local paths resolved (empty for a hub dataset)."""

    cfg: SourceConfig
    paths: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.cfg.name or self.cfg.hf_name or ",".join(self.paths)

    def files(self) -> list[Path]:
        files = resolve_files(self.paths)
        if not files:
            raise DataFileError(f"data source {self.name!r}: {self.paths} hold no data files")
        return files


def configured_sources(data: DataConfig) -> list[Source]:
    """``data.sources``, or the ``data.files`` shorthand as one text source."""
    if data.sources:
        return [Source(s, [s.path] if s.path else []) for s in data.sources]
    shorthand = SourceConfig(name="files", path=None, field=data.text_field)
    return [Source(shorthand, list(data.files))]


@dataclass
class SourceStats:
    """What one source's passes did: cleaning counts and skipped bad records, by kind."""

    cleaning: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)


def hf_records(cfg: SourceConfig) -> Iterator[Record]:
    from datasets import load_dataset

    stream = load_dataset(cfg.hf_name, cfg.hf_subset, split=cfg.hf_split, streaming=True)
    for i, row in enumerate(stream):
        yield Record(f"{cfg.hf_name}[{cfg.hf_split}]: row {i}", row)


def records(src: Source, bad: BadRecords) -> Iterator[Record]:
    if src.cfg.hf_name is not None:
        stream: Iterable[Record] = hf_records(src.cfg)
    else:
        stream = itertools.chain.from_iterable(
            read_records(f, src.cfg.format, bad) for f in src.files()
        )
    return itertools.islice(stream, src.cfg.max_records)


def in_validation(name: str, ordinal: int, seed: int, fraction: float) -> bool:
    """A seeded, pass-independent coin flip for the ``ordinal``-th kept record of a source."""
    digest = hashlib.blake2b(f"{seed}:{name}:{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def _split(items: Iterable[T], src: Source, split: str, seed: int, fraction: float) -> Iterator[T]:
    """Keep the items of ``split`` (train | val | all) by :func:`in_validation`."""
    want_val = split == "val"
    for ordinal, item in enumerate(items):
        if split == "all" or in_validation(src.name, ordinal, seed, fraction) == want_val:
            yield item


def _leaves(src: Source, rec: Record, bad: BadRecords) -> list[tuple[str, object]]:
    if isinstance(rec.value, str):
        return [(rec.where, rec.value)]
    nested = "[" in src.cfg.field
    try:
        return [
            (f"{rec.where}: {loc}" if nested else rec.where, leaf)
            for loc, leaf in extract(rec.value, src.cfg.field, rec.where)
        ]
    except KeyError as err:
        where, _, reason = str(err.args[0]).partition(": ")
        bad(where, "missing field", reason)
        return []


def documents(
    src: Source, data: DataConfig, stats: SourceStats, split: str, seed: int
) -> Iterator[tuple[str, str]]:
    """``(where, text)`` of the cleaned documents of one pass over ``src`` in ``split``."""
    bad = BadRecords(data.on_bad_record, stats.bad)
    cleaner = Cleaner(data.clean, src.cfg.opencc, stats.cleaning, src.name)

    def cleaned() -> Iterator[tuple[str, str]]:
        for rec in records(src, bad):
            for where, leaf in _leaves(src, rec, bad):
                text = as_text(leaf)
                if text is None:
                    bad(
                        where, "field is not text", f"{src.cfg.field!r} holds {type(leaf).__name__}"
                    )
                    continue
                if len(text) > data.max_doc_chars:
                    bad(where, "over-long document", f"{len(text)} chars > data.max_doc_chars")
                    continue
                if (out := cleaner(text)) is not None and out.strip():
                    yield where, out.strip()

    return _split(cleaned(), src, split, seed, data.val_fraction)


def conversations(
    src: Source, data: DataConfig, stats: SourceStats, split: str, seed: int
) -> Iterator[tuple[str, list[Message]]]:
    """``(where, messages)`` of one pass: validated, cleaned conversations of ``src``."""
    bad = BadRecords(data.on_bad_record, stats.bad)
    cleaner = Cleaner(data.clean, src.cfg.opencc, stats.cleaning, src.name)
    cfg = src.cfg

    def grouped() -> Iterator[list[tuple[str, list[Message]]]]:
        # One group per record, so both directions of a translation pair share a split.
        for ordinal, rec in enumerate(records(src, bad)):
            try:
                if cfg.schema == "parallel":
                    convs = translation_conversations(
                        rec.value, ordinal, cfg.zh_field, cfg.en_field, cfg.direction, rec.where
                    )
                else:
                    convs = [read_conversation(rec.value, cfg.schema)]
                convs = [normalize_conversation(c) for c in convs]
            except BadConversation as err:
                bad(rec.where, err.kind, err.detail)
                continue
            group = []
            for conv in convs:
                size = sum(len(c) for _, c in conv)
                if size > data.max_doc_chars:
                    bad(rec.where, "over-long document", f"{size} chars > data.max_doc_chars")
                    continue
                parts = cleaner.clean_parts([c for _, c in conv])
                if parts is not None:
                    group.append(
                        (rec.where, [(r, p) for (r, _), p in zip(conv, parts, strict=True)])
                    )
            if group:
                yield group

    return itertools.chain.from_iterable(_split(grouped(), src, split, seed, data.val_fraction))
