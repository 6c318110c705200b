"""Tokenize each source once into an on-disk token store; every later run memory-maps it.

Why: held as Python lists a token costs ~36 bytes (13B tokens ≈ 470 GB before the first
step), and every run, sweep arm and rank tokenized the corpus again. A store is a folder per
source, named by a digest of everything that decides its content (the source's settings, its
files' paths, sizes and modification times, the tokenizer, the cleaning settings, the
validation split's seed and fraction) but not the block size or the mix weights, which only
decide how the stream is cut and drawn from, so one store serves every block size and mix:

    <data.store_dir>/<source>-<digest>/
        meta.json     what it holds: documents and tokens per split, cleaning counts, build time
        train.arrow   one row per document, input_ids = <s> ids </s> (uint16, or uint32 past
        val.arrow     65,536 ids): HF datasets' Arrow format, read with Dataset.from_file

The library is HF ``datasets`` (Arrow; already a dependency): ``litdata`` would add a
dependency for what Arrow gives here (memory-mapped reads, a stream to cut blocks from) and
its streaming, object-store features are not needed for local or shared file systems.

A store is built in a hidden sibling folder and renamed into place, so no reader sees half of
one; concurrent builders (ranks of several nodes) each finish and the first rename wins. A
store that fails its check (unreadable meta, missing or truncated Arrow file, counts that
disagree) is discarded with a warning naming it and rebuilt (the pattern of
:mod:`bailong.core.cache_entries`). When a run asks for more training tokens than a store built up
to a limit holds, it is rebuilt further.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from datasets import Features, List, Value
from datasets.arrow_writer import ArrowWriter
from transformers import PreTrainedTokenizerBase

from bailong.core.cache_entries import discard
from bailong.core.paths import user_cache_dir
from bailong.data.config import DataConfig
from bailong.data.sources import Source, SourceStats, documents, in_validation
from bailong.data.store_tokenize import encoded_batches, token_dtype
from bailong.data.token_stream import TokenStream

log = logging.getLogger(__name__)
FORMAT = 1
SPLITS = ("train", "val")
SMALL_SOURCE_BYTES = 16 << 20  # below this a local source is tokenized in this process
PROGRESS_SECONDS = 10.0


def default_store_dir() -> Path:
    return user_cache_dir() / "token_stores"


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A digest of the tokenizer's full definition (its serialized backend, or its vocab)."""
    if tokenizer.is_fast:
        text = tokenizer.backend_tokenizer.to_str()
    else:
        text = json.dumps(sorted(tokenizer.get_vocab().items()))
    extra = [type(tokenizer).__name__, tokenizer.bos_token_id, tokenizer.eos_token_id]
    return hashlib.blake2b((text + json.dumps(extra)).encode(), digest_size=16).hexdigest()


def store_key(src: Source, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> dict:
    """Everything a store's content depends on (its digest names the folder)."""
    source = {k: v for k, v in dataclasses.asdict(src.cfg).items() if k != "weight"}
    files = None
    if src.cfg.hf_name is None:
        files = [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in src.files()]
    return {
        "format": FORMAT,
        "name": src.name,
        "source": source,
        "files": files,
        "clean": dataclasses.asdict(cfg.clean),
        "max_doc_chars": cfg.max_doc_chars,
        "on_bad_record": str(getattr(cfg.on_bad_record, "value", cfg.on_bad_record)),
        "val_fraction": cfg.val_fraction,
        "seed": seed,
        "tokenizer": tokenizer_fingerprint(tokenizer),
    }


def store_folder(root: Path, key: dict) -> Path:
    digest = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=8).hexdigest()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", key["name"])[:48]
    return root / f"{slug}-{digest}"


@dataclass
class TokenStore:
    """An opened store: its folder, metadata and one memory-mapped stream per split."""

    path: Path
    meta: dict
    streams: dict[str, TokenStream]
    reused: bool = True

    def tokens(self, split: str) -> int:
        return self.streams[split].tokens

    def source_stats(self) -> SourceStats:
        return SourceStats(Counter(self.meta["cleaning"]), Counter(self.meta["bad"]))

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def open_store(path: Path) -> TokenStore | None:
    """The store at ``path``, or None when it is damaged or incomplete."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        streams = {s: TokenStream(path / f"{s}.arrow") for s in SPLITS}
        for split, stream in streams.items():
            want = meta["splits"][split]
            if (stream.docs, stream.tokens) != (want["docs"], want["tokens"]):
                return None
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None  # ValueError: bad JSON; ArrowException: truncated or not Arrow
    return TokenStore(path, meta, streams)


def token_store(
    src: Source,
    cfg: DataConfig,
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    train_tokens_needed: int | None = None,
) -> TokenStore:
    """The store of ``src``, reused when present and sufficient, else (re)built.

    ``train_tokens_needed``: stop reading the source once its training split holds that many
    tokens (a mix with ``train_items`` needs no more); None reads the whole source.
    """
    root = Path(cfg.store_dir).expanduser() if cfg.store_dir else default_store_dir()
    key = store_key(src, cfg, tokenizer, seed)
    folder = store_folder(root, key)
    if folder.exists():
        store = open_store(folder)
        if store is None:
            discard(folder)  # warns, naming the folder
        elif store.meta["complete"] or store.tokens("train") >= (train_tokens_needed or 0):
            log.info("token store %s reused: %s", src.name, folder)
            return store
        else:
            log.info(
                "token store %s holds %d training tokens, %d needed: reading further",
                src.name, store.tokens("train"), train_tokens_needed,
            )  # fmt: skip
    return build_store(src, cfg, tokenizer, seed, key, folder, train_tokens_needed)


def _workers(src: Source, cfg: DataConfig) -> int:
    if cfg.store_workers is not None:
        return cfg.store_workers
    if src.cfg.hf_name is None and sum(p.stat().st_size for p in src.files()) < SMALL_SOURCE_BYTES:
        return 1
    return min(os.cpu_count() or 1, 8)


def _features(dtype: np.dtype) -> Features:
    return Features({"input_ids": List(Value(dtype.name))})


def _rows(flat: np.ndarray, lengths: np.ndarray, keep: np.ndarray) -> pa.Table:
    """The documents ``keep`` selects as an Arrow table of one list row each."""
    kept = lengths[keep]
    offsets = np.zeros(len(kept) + 1, dtype=np.int32)
    np.cumsum(kept, out=offsets[1:])
    values = flat if keep.all() else flat[np.repeat(keep, lengths)]
    return pa.table({"input_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))})


class Progress:
    """One log line every ``PROGRESS_SECONDS``: documents and tokens per second, and an ETA
    from the bytes read (local files) or the tokens asked for, whichever is known."""

    def __init__(self, name: str, total_bytes: int | None, total_tokens: int | None) -> None:
        self.name, self.total_bytes, self.total_tokens = name, total_bytes, total_tokens
        self.start = self.last = time.perf_counter()
        self.docs = self.tokens = self.bytes = 0

    def update(self, docs: int, tokens: int, size: int, train_tokens: int) -> None:
        self.docs += docs
        self.tokens += tokens
        self.bytes += size
        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.log(train_tokens)

    def log(self, train_tokens: int, final: bool = False) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        done = [
            part / total
            for part, total in ((self.bytes, self.total_bytes), (train_tokens, self.total_tokens))
            if total
        ]
        fraction = min(max(done), 1.0) if done else None
        if final:
            tail = f"done in {elapsed:,.1f} s"
        elif fraction:
            eta = elapsed * (1 - fraction) / fraction
            tail = f"{fraction:.0%}, ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}"
        else:
            tail = "size unknown, no ETA"
        log.info(
            "token store %s: %s docs, %s tokens, %s docs/s, %s tokens/s, %s",
            self.name, f"{self.docs:,}", f"{self.tokens:,}", f"{self.docs / elapsed:,.0f}",
            f"{self.tokens / elapsed:,.0f}", tail,
        )  # fmt: skip


def build_store(
    src: Source,
    cfg: DataConfig,
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    key: dict,
    folder: Path,
    train_tokens_needed: int | None,
) -> TokenStore:
    """Read, clean, split and tokenize ``src`` once into ``folder`` (atomically)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".building-{uuid.uuid4().hex[:8]}-{folder.name}")
    tmp.mkdir()
    started = time.perf_counter()
    stats = SourceStats()
    dtype = token_dtype(len(tokenizer))
    total_bytes = None
    if src.cfg.hf_name is None:
        total_bytes = sum(p.stat().st_size for p in src.files())
    progress = Progress(src.name, total_bytes, train_tokens_needed)
    counts = {s: {"docs": 0, "tokens": 0} for s in SPLITS}
    docs = (
        (in_validation(src.name, i, seed, cfg.val_fraction), text)
        for i, (_, text) in enumerate(documents(src, cfg, stats, "all", seed))
    )
    complete = True
    log.info("token store %s: building %s", src.name, folder)
    try:
        writers = {
            s: ArrowWriter(features=_features(dtype), path=str(tmp / f"{s}.arrow")) for s in SPLITS
        }
        batches = encoded_batches(docs, tokenizer, _workers(src, cfg))
        for flags, size, (flat, lengths) in batches:
            is_val = np.asarray(flags, dtype=bool)
            for split, keep in (("train", ~is_val), ("val", is_val)):
                if keep.any():
                    table = _rows(flat, lengths, keep)
                    writers[split].write_table(table)
                    counts[split]["docs"] += int(keep.sum())
                    counts[split]["tokens"] += int(lengths[keep].sum())
            progress.update(len(flags), int(lengths.sum()), size, counts["train"]["tokens"])
            if train_tokens_needed is not None and counts["train"]["tokens"] >= train_tokens_needed:
                complete = False
                batches.close()  # stops the workers
                break
        for writer in writers.values():
            writer.finalize()
        progress.log(counts["train"]["tokens"], final=True)
        meta = {
            "key": key,
            "dtype": dtype.name,
            "splits": counts,
            "complete": complete,
            "cleaning": dict(stats.cleaning),
            "bad": dict(stats.bad),
            "build_seconds": round(time.perf_counter() - started, 3),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if folder.exists():  # an incomplete store being read further, or another builder
            aside = folder.with_name(f".replaced-{uuid.uuid4().hex[:8]}-{folder.name}")
            folder.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    store = open_store(folder)
    if store is None:
        raise RuntimeError(f"token store {folder} failed its check right after it was built")
    store.reused = False
    return store
