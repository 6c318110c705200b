"""Atomic checkpoint writes: a crash or full disk mid-save never harms the previous checkpoint.

The checkpoint is written to a temporary file in the same directory, flushed and fsynced,
then renamed over the target (``os.replace`` is atomic on POSIX), and the directory entry is
fsynced. A failed write removes its temporary file and raises an error naming the target; a
SIGKILL cannot clean up, so a job removes such leftovers before it writes anything. Loading
uses ``weights_only=True``: checkpoints hold tensors and plain containers only. Each
checkpoint carries a checksum of its contents (``checkpoint_checksum``); a checkpoint that is
corrupted, truncated, empty, not a checkpoint, without a checksum, in an older format, or a
directory fails with one ``CheckpointReadError`` naming the file and what to do.
"""

from __future__ import annotations

import errno
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from bailong.training.checkpoint_checksum import checksum_problem, with_checksum

TMP_SUFFIX = ".tmp"
# how torch.save's zip writer words a failed write (a full disk among others)
TORCH_WRITE_FAILURES = ("inline_container", "PytorchStreamWriter")


class CheckpointWriteError(OSError):
    """Saving a checkpoint failed (e.g. disk full); the previous file at the path is untouched."""


class CheckpointReadError(RuntimeError):
    """A checkpoint cannot be resumed from; the message names the file and what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"cannot resume from {path}: {problem}. Resume from another file in "
            f"{path.parent} (ckpt_path=<file>) or start a new run in a new directory"
        )


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` so that readers only ever see a complete file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except OSError as err:
        Path(tmp_name).unlink(missing_ok=True)
        raise CheckpointWriteError(
            err.errno,
            f"saving checkpoint {target} failed: {err.strerror or err} "
            "(the previous checkpoint there, if any, is untouched)",
        ) from err
    except RuntimeError as err:
        Path(tmp_name).unlink(missing_ok=True)
        if not any(mark in str(err) for mark in TORCH_WRITE_FAILURES):
            raise
        # torch's zip writer reports a full disk as "[enforce fail at inline_container.cc]"
        raise CheckpointWriteError(
            errno.EIO,
            f"saving checkpoint {target} failed: {err} (is the disk full?) "
            "(the previous checkpoint there, if any, is untouched)",
        ) from err
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_partial_writes(directory: Path) -> list[Path]:
    """Delete the temporary files of saves that were killed midway; returns what was removed.

    Only the job that owns ``directory`` may call this (another writer's live temp file looks
    the same), which is why it runs when a job starts, before it writes anything.
    """
    leftovers = sorted(directory.glob(f".*{TMP_SUFFIX}")) if directory.is_dir() else []
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO with atomic saves and weights-only loads."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        atomic_torch_save(with_checksum(checkpoint), path)

    def load_checkpoint(
        self, path: Any, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        path = Path(path)
        if path.exists() and not path.is_file():
            raise CheckpointReadError(path, "it is a directory, not a checkpoint file")
        try:
            checkpoint = super().load_checkpoint(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            problem = "it holds Python objects besides tensors and plain containers"
            if "Weights only load failed" not in str(err):
                problem = f"it is not a readable checkpoint ({str(err).splitlines()[0]})"
            raise CheckpointReadError(path, problem) from err
        except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            problem = f"it is truncated, empty or not a checkpoint ({reason})"
            raise CheckpointReadError(path, problem) from err
        if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
            raise CheckpointReadError(path, "it is not a Lightning checkpoint (no state_dict)")
        mismatch = checksum_problem(checkpoint)
        if mismatch:
            raise CheckpointReadError(path, mismatch)
        return checkpoint
