"""Settings of the data stage: sources and their mix, cleaning, chat rendering, blocks, batches.

``check_data`` names every bad value by its full key (``data.sources[2].weight``) before any
file is read; the train door (``bailong.training.validate``) calls it.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from bailong.core.checks import check_choice, fail


class BadRecordPolicy(str, Enum):
    """A malformed record stops the run (error naming file and line) or is skipped and counted."""

    error = "error"
    skip = "skip"


SOURCE_FORMATS = ("auto", "text", "lines", "jsonl", "json", "parquet")
SOURCE_SCHEMAS = ("text", "sharegpt", "openai", "alpaca", "parallel")
DATA_KINDS = ("pretrain", "sft")
DOCUMENT_BOUNDARIES = ("attend", "mask")
CHAT_TEMPLATES = ("llama2", "tokenizer")
TRANSLATION_DIRECTIONS = ("both", "zh2en", "en2zh")
OPENCC_CONFIGS = (
    "s2t", "s2tw", "s2twp", "s2hk", "t2s", "t2tw", "t2hk", "t2jp",
    "tw2s", "tw2sp", "tw2t", "hk2s", "hk2t", "jp2t",
)  # fmt: skip


@dataclass
class SourceConfig:
    """One data source of a mix. Exactly one of ``path`` (local) or ``hf_name`` (hub) is set."""

    name: str | None = None  # label in logs and reports; defaults to the path / hub name
    # A file, a directory (its .txt/.jsonl/.json/.parquet files), a glob, or "bundled".
    path: str | None = None
    # A Hugging Face ``datasets`` name (streamed; needs the network unless it is a local folder).
    hf_name: str | None = None
    hf_subset: str | None = None
    hf_split: str = "train"
    # auto picks by suffix: .txt=text (blank-line paragraphs), .jsonl, .json, .parquet.
    format: str = "auto"
    # The text field, or a path into nested JSON such as DRCD's "data[].paragraphs[].context"
    # ("[]" iterates a list; a list of strings at the end is joined with newlines).
    field: str = "text"
    # What a record is: plain text, or a conversation (sharegpt/openai/alpaca), or a zh/en pair
    # turned into translation instructions (parallel).
    schema: str = "text"
    weight: float = 1.0  # share of TOKENS in the mixed stream (normalized over the sources)
    opencc: str | None = None  # convert this source's text, e.g. s2twp for Simplified data
    zh_field: str = "zh"  # parallel: where the Chinese and English sides are
    en_field: str = "en"
    direction: str = "both"  # parallel: both | zh2en | en2zh (both = one instruction each way)
    max_records: int | None = None  # read at most this many records per pass


@dataclass
class CleanConfig:
    """Switchable cleaning steps, applied per source in this order; each counts what it removes."""

    # remove terminal escape sequences, control characters (tab and newline stay), bidi
    # overrides (U+202E turns text around on screen) and zero-width no-break spaces (BOMs)
    strip_controls: bool = True
    nfkc: bool = False  # Unicode NFKC (note: also turns full-width CJK punctuation half-width)
    opencc: str | None = None  # OpenCC conversion for every source, e.g. s2twp
    min_chars: int = 0
    max_chars: int | None = None
    min_cjk_share: float | None = None  # share of CJK ideographs among non-space characters
    max_cjk_share: float | None = None
    dedup: bool = False  # drop exact duplicates (by hash) within a source


@dataclass
class ChatConfig:
    """How SFT conversations become token ids and labels."""

    template: str = "llama2"  # llama2 ([INST] format) | tokenizer (its own chat_template)
    system_prompt: str | None = None  # used when a conversation has no system turn
    # Pack several conversations per row; position_ids restart per conversation so neither
    # attention nor loss crosses conversations (the HF Llama reads packing from position_ids).
    pack: bool = False


@dataclass
class DataConfig:
    kind: str = "pretrain"  # pretrain (packed text blocks) | sft (chat-rendered conversations)
    # Shorthand for one text source: plain text (documents separated by blank lines) or JSONL
    # files; "bundled" means the sample corpus shipped inside the package. Ignored when
    # ``sources`` is set.
    files: list[str] = field(default_factory=lambda: ["bundled"])
    text_field: str = "text"
    sources: list[SourceConfig] = field(default_factory=list)
    # Training blocks (pretrain) or examples (sft) to draw from the mix; sources are re-read as
    # needed to keep their token shares. None: stop when the first source runs out.
    train_items: int | None = None
    on_bad_record: BadRecordPolicy = BadRecordPolicy.error
    max_doc_chars: int = 1_000_000  # a longer record is bad data (error or skip per policy)
    clean: CleanConfig = field(default_factory=CleanConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    block_size: int = 128
    # Pretraining blocks hold several documents back to back (EOS between them). attend: a
    # token attends to the earlier documents of its block too (the HF/Chinese-LLaMA
    # group_texts convention, and what Llama 2 was pretrained with); mask: position_ids restart
    # at each document start, so no token attends across documents (as SFT packing does).
    document_boundaries: str = "attend"
    # Where tokenized sources are stored (bailong.data.token_store); null: the user's cache
    # (bailong.core.paths.user_cache_dir) + /token_stores. The configs set ${paths.cache_dir}.
    store_dir: str | None = None
    # Tokenizer processes while a store is built; null: the CPUs (at most 8), and 1 (in this
    # process) for local sources under 16 MiB, whose start-up a pool would only slow down.
    store_workers: int | None = None
    batch_size: int = 8
    val_fraction: float = 0.1
    num_workers: int = 0


def any_path_exists(path: str) -> bool:
    """True when ``path`` is an existing file/directory or a glob with at least one match."""
    return bool(glob.glob(os.path.expanduser(path)))


def check_data(data: DataConfig) -> None:
    """Every ``data.*`` value types cannot express, sources and cleaning included."""
    if data.block_size <= 1:
        fail("data.block_size", data.block_size, "must be at least 2 tokens")
    if data.batch_size <= 0:
        fail("data.batch_size", data.batch_size, "must be a positive integer")
    if not 0.0 < data.val_fraction < 1.0:
        fail("data.val_fraction", data.val_fraction, "must lie in (0, 1)")
    check_choice("data.kind", data.kind, DATA_KINDS)
    check_choice("data.chat.template", data.chat.template, CHAT_TEMPLATES)
    check_choice("data.document_boundaries", data.document_boundaries, DOCUMENT_BOUNDARIES)
    if data.store_workers is not None and data.store_workers <= 0:
        fail("data.store_workers", data.store_workers, "must be a positive integer or null")
    if not data.sources:
        if not data.files:
            fail("data.files", [], "list at least one file (or 'bundled'), or set data.sources")
        for i, path in enumerate(data.files):
            if path != "bundled" and not Path(path).expanduser().exists():
                fail(f"data.files[{i}]", path, "no such file or directory" + _list_hint(path))
    for i, src in enumerate(data.sources):
        _check_source(f"data.sources[{i}]", src)
    chat_schemas = sorted(set(SOURCE_SCHEMAS) - {"text"})
    for i, src in enumerate(data.sources):
        if (src.schema in chat_schemas) != (data.kind == "sft"):
            wanted = f"one of {chat_schemas}" if data.kind == "sft" else "'text'"
            fail(f"data.sources[{i}].schema", src.schema, f"data.kind={data.kind} takes {wanted}")
    if data.kind == "sft" and not data.sources:
        fail("data.sources", [], "data.kind=sft needs conversation sources")
    if data.train_items is not None and data.train_items <= 0:
        fail("data.train_items", data.train_items, "must be a positive integer or null")
    if data.max_doc_chars <= 0:
        fail("data.max_doc_chars", data.max_doc_chars, "must be a positive integer")
    _check_clean(data.clean)


def _list_hint(path: str) -> str:
    """A comma in a missing path is most often two files written as one string."""
    if "," not in path:
        return ""
    files = ",".join(part.strip() for part in path.split(","))
    return f"; several files are a list: data.files=[{files}]"


def _check_source(key: str, src: SourceConfig) -> None:
    if (src.path is None) == (src.hf_name is None):
        fail(key, {"path": src.path, "hf_name": src.hf_name}, "set exactly one of path / hf_name")
    bundled = src.path is not None and (src.path == "bundled" or src.path.startswith("bundled/"))
    if src.path is not None and not bundled and not any_path_exists(src.path):
        fail(f"{key}.path", src.path, "no such file, directory or glob match")
    check_choice(f"{key}.format", src.format, SOURCE_FORMATS)
    check_choice(f"{key}.schema", src.schema, SOURCE_SCHEMAS)
    check_choice(f"{key}.direction", src.direction, TRANSLATION_DIRECTIONS)
    if src.opencc is not None:
        check_choice(f"{key}.opencc", src.opencc, OPENCC_CONFIGS)
    if not src.weight > 0:
        fail(f"{key}.weight", src.weight, "a token share must be positive")
    if src.max_records is not None and src.max_records <= 0:
        fail(f"{key}.max_records", src.max_records, "must be a positive integer or null")


def _check_clean(c: CleanConfig) -> None:
    if c.opencc is not None:
        check_choice("data.clean.opencc", c.opencc, OPENCC_CONFIGS)
    if c.min_chars < 0:
        fail("data.clean.min_chars", c.min_chars, "must be >= 0")
    if c.max_chars is not None and c.max_chars < max(c.min_chars, 1):
        fail("data.clean.max_chars", c.max_chars, "must be >= data.clean.min_chars and >= 1")
    for key in ("min_cjk_share", "max_cjk_share"):
        value = getattr(c, key)
        if value is not None and not 0.0 <= value <= 1.0:
            fail(f"data.clean.{key}", value, "a share must lie in [0, 1]")
