"""A checksum over a checkpoint's contents, stored inside it and checked when it is loaded.

Torch's zip reader does not check its CRCs, so bytes flipped inside a tensor (a bad disk, a
bad copy) would resume silently with different weights. The digest covers every key and
value of the checkpoint dict, tensors by dtype, shape and raw bytes, in the order saved;
loading with ``weights_only`` gives back the same containers, so the digest is recomputed from
what was loaded. A checkpoint without a checksum is refused, not trusted: removing the key is
all it takes to make edited weights load unchecked.

Each checkpoint also carries the format it was written in (``FORMAT``, inside the digest):
format 2 is the first whose data position records the epoch of the data order
(``bailong.data.epoch_sampler``); an older checkpoint would resume on other batches than the
run it came from, so it is refused too.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

CHECKSUM_KEY = "bailong_sha256"
FORMAT_KEY = "bailong_checkpoint_format"
FORMAT = 2


def _update(h: Any, value: Any) -> None:
    if isinstance(value, dict):
        h.update(f"dict{len(value)}".encode())
        for key, item in value.items():
            h.update(repr(key).encode())
            _update(h, item)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _update(h, item)
    elif isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"tensor{tensor.dtype}{tuple(value.shape)}".encode())
        h.update(tensor.view(torch.uint8).numpy().tobytes())
    else:
        h.update(repr(value).encode())


def checkpoint_digest(checkpoint: dict[str, Any]) -> str:
    """SHA-256 of everything in ``checkpoint`` except a stored checksum."""
    h = hashlib.sha256()
    _update(h, {k: v for k, v in checkpoint.items() if k != CHECKSUM_KEY})
    return h.hexdigest()


def with_checksum(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``checkpoint`` carrying its format and the digest of both."""
    stamped = {**checkpoint, FORMAT_KEY: FORMAT}
    return {**stamped, CHECKSUM_KEY: checkpoint_digest(stamped)}


def checksum_problem(checkpoint: dict[str, Any]) -> str | None:
    """Why ``checkpoint`` cannot be trusted to resume from, or None; the stored checksum and
    format are removed from it."""
    stored = checkpoint.pop(CHECKSUM_KEY, None)
    if stored is None:
        return (
            f"it carries no checksum ({CHECKSUM_KEY}), so its contents cannot be verified "
            "(it was edited, or written by a bailong older than checksums)"
        )
    if stored != checkpoint_digest(checkpoint):
        return "it is corrupted: its contents differ from the checksum saved with it"
    written = checkpoint.pop(FORMAT_KEY, 1)
    if written != FORMAT:
        return (
            f"it was written in checkpoint format {written}, this bailong reads format "
            f"{FORMAT} (older checkpoints do not record which epoch's data order they stopped "
            "in, and would resume on other batches)"
        )
    return None
