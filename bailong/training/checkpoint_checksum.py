"""A checksum over a checkpoint's contents, stored inside it and checked when it is loaded.

Torch's zip reader does not check its CRCs, so bytes flipped inside a tensor (a bad disk, a
bad copy) would resume silently with different weights. The digest covers every key and
value of the checkpoint dict, tensors by dtype, shape and raw bytes, in the order saved;
loading with ``weights_only`` gives back the same containers, so the digest is recomputed from
what was loaded. Checkpoints written before checksums existed carry none and load as before.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch

CHECKSUM_KEY = "bailong_sha256"


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
    """A shallow copy of ``checkpoint`` carrying its digest."""
    return {**checkpoint, CHECKSUM_KEY: checkpoint_digest(checkpoint)}


def checksum_matches(checkpoint: dict[str, Any]) -> bool:
    """False when a stored checksum disagrees with the contents (True when none is stored);
    the stored checksum is removed from ``checkpoint``."""
    stored = checkpoint.pop(CHECKSUM_KEY, None)
    return stored is None or stored == checkpoint_digest(checkpoint)
