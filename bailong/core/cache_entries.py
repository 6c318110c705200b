"""Check a cache entry before trusting it; a damaged one is discarded and rebuilt.

The cache (sample tokenizers, random base models built from a LlamaConfig) is written
atomically, but a disk error, a full disk on another tool's copy, or a hand edit can still
leave an empty ``tokenizer.model`` or a truncated ``model.safetensors``. Both are cheap to
check (a SentencePiece load; safetensors' header, which records every tensor's byte range
and fails when the file is shorter) and cheap to rebuild, so a damaged entry never reaches a
run.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import sentencepiece as spm
from safetensors import SafetensorError, safe_open

log = logging.getLogger(__name__)


def usable_sentencepiece(path: Path) -> bool:
    """True when ``path`` loads as a SentencePiece model with at least one piece."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        return spm.SentencePieceProcessor(model_file=str(path)).get_piece_size() > 0
    except (OSError, RuntimeError):
        return False


def usable_model_dir(folder: Path) -> bool:
    """True when ``folder`` holds a readable ``config.json`` and complete safetensors files."""
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights = sorted(folder.glob("*.safetensors"))
        for path in weights:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
    except (OSError, ValueError, SafetensorError):  # ValueError: bad JSON
        return False
    return bool(weights)


def discard(entry: Path) -> None:
    """Move a damaged entry aside (atomically, so no job sees half of it), then delete it."""
    log.warning("cache entry %s is damaged (empty or truncated); rebuilding it", entry)
    trash = entry.with_name(f".discarded-{uuid.uuid4().hex[:8]}-{entry.name}")
    entry.rename(trash)
    if trash.is_dir():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


def publish(built: Path, target: Path, usable: Callable[[Path], bool]) -> None:
    """Move a finished build into the cache atomically (a concurrent job sees nothing or the
    whole entry). When a concurrent job of the same sweep published the same entry first, the
    rename fails (the target is a non-empty directory): its entry is kept when ``usable``, and
    this build is dropped; otherwise the error stands."""
    try:
        built.rename(target)
    except OSError:
        shutil.rmtree(built, ignore_errors=True)
        if not usable(target):
            raise
