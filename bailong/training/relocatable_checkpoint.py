"""Step checkpoints that keep working when a run directory is copied or moved.

Lightning's ``ModelCheckpoint`` remembers absolute paths (its ``dirpath``, ``last.ckpt``, the
kept step files). Resumed in a copied or moved run directory, it drops that memory because
the ``dirpath`` changed: the new ``last.ckpt`` is written as ``last-v1.ckpt`` beside the stale
one (which ``ckpt_path=last`` would then resume from again), and the keep limit forgets the
step files saved before the move. Here the remembered paths are moved to the new directory
instead, and file names never get a version suffix (step files are named by step).

A step checkpoint due at a step after which the trainer validates is written when that
validation ends (``bailong.training.step_boundary``), so resuming from it neither skips nor
loses the validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from bailong.training.step_boundary import validation_follows

REMEMBERED_PATHS = ("best_model_path", "kth_best_model_path", "last_model_path")


def moved(path: str, old_dir: str | Path, new_dir: str | Path) -> str:
    """``path`` under ``new_dir`` when it was under ``old_dir`` (else unchanged)."""
    if not path:
        return path
    try:
        return str(Path(new_dir) / Path(path).relative_to(old_dir))
    except ValueError:
        return path


class RelocatableCheckpoint(ModelCheckpoint):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(enable_version_counter=False, **kwargs)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any, **kwargs: Any
    ) -> None:
        every = self._every_n_train_steps
        due = every >= 1 and trainer.global_step % every == 0
        if due and validation_follows(trainer) and not self._should_skip_saving_checkpoint(trainer):
            self._defer_save_until_validation = True  # Lightning's own flag for a deferred save
            return
        super().on_train_batch_end(trainer, pl_module, *args, **kwargs)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._defer_save_until_validation and not self._should_skip_saving_checkpoint(trainer):
            self._defer_save_until_validation = False
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
            return
        super().on_validation_end(trainer, pl_module)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old_dir = state_dict.get("dirpath")
        if old_dir and self.dirpath and old_dir != self.dirpath:
            new_dir = self.dirpath
            state_dict = {**state_dict, "dirpath": new_dir}
            for key in REMEMBERED_PATHS:
                if key in state_dict:
                    state_dict[key] = moved(state_dict[key], old_dir, new_dir)
            state_dict["best_k_models"] = {
                moved(path, old_dir, new_dir): score
                for path, score in state_dict.get("best_k_models", {}).items()
            }
        super().load_state_dict(state_dict)
