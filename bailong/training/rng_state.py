"""Save the RNG streams in each checkpoint and put them back when a resumed run restarts.

Lightning restores model, optimizer, scheduler, loop and (stateful) data-loader state, but not
the global random streams, so LoRA dropout after a resume would draw different masks and the
losses would drift from the uninterrupted run. The states are applied at the first training
batch after loading, not in ``load_state_dict``: everything Lightning does between restoring
and training (building the data iterators, sanity checks) must not shift them.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer


def capture_rng_states() -> dict[str, Any]:
    """Plain tuples and tensors only, so checkpoints still load with ``weights_only=True``."""
    # legacy=True is numpy's default, spelled out: numpy's stubs type the bare call as the dict.
    # The global RandomState is an MT19937, so the legacy tuple is what comes back.
    state = np.random.get_state(legacy=True)
    assert isinstance(state, tuple), "the global RandomState is an MT19937"
    kind, keys, pos, has_gauss, cached = state
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class RngStateCallback(Callback):
    """Checkpoints the RNG states; restores them just before the first batch after a resume."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return capture_rng_states()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._pending is not None:
            restore_rng_states(self._pending)
            self._pending = None
