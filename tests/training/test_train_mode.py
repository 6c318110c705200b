"""Training runs in training mode: every module, every step, also after mid-training evaluation.

``from_pretrained`` returns a model in ``eval()`` and Lightning keeps each submodule's mode at
``fit``; an HF model in eval mode silently skips gradient checkpointing. These tests watch a
real CPU run (4-bit base, LoRA, held-out scoring and validation between steps) from inside
``training_step``: forward pre-hooks on every module record any that run in eval mode, and
forward hooks on the decoder layers count their calls (forward + checkpoint recompute). Only
grad-enabled calls count: callbacks that score under ``no_grad`` between steps are not steps.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings

STEPS = 4
WATCHED = [
    f"trainer.max_steps={STEPS}",
    "trainer.val_check_interval=2",  # validation between steps
    "callbacks.checkpoint.enabled=false",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=2",
    "save_adapter=false",
]
# the held-out scoring callback evaluates (eval mode, no grad) between steps
HELDOUT_SCORING = [
    "callbacks.heldout_bpc.enabled=true",
    "callbacks.heldout_bpc.every_n_train_steps=1",
    "callbacks.heldout_bpc.max_chars_per_source=200",
]


class ModeWatcher(Callback):
    """Records, per training step, modules that ran in eval mode and decoder-layer calls."""

    def __init__(self) -> None:
        self.in_step = False
        self.eval_modules: set[str] = set()
        self.layer_calls: list[Counter[str]] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for name, module in pl_module.named_modules():
            module.register_forward_pre_hook(self._mode_hook(name))
            if type(module).__name__.endswith("DecoderLayer"):
                # transformers checkpoints the layer's forward, not its __call__, so the layer's
                # own hooks run once; its MLP's run again on recompute. A pre-hook: the
                # recompute stops as soon as it has what backward needs (torch's early stop),
                # inside the MLP, before a post-hook would run.
                module.mlp.register_forward_pre_hook(self._count_hook(name))

    def _mode_hook(self, name: str) -> Any:
        def hook(module: torch.nn.Module, args: Any) -> None:
            if self.in_step and torch.is_grad_enabled() and not module.training:
                self.eval_modules.add(name)

        return hook

    def _count_hook(self, name: str) -> Any:
        def hook(module: torch.nn.Module, args: Any) -> None:
            if self.in_step and torch.is_grad_enabled():
                self.layer_calls[-1][name] += 1

        return hook

    def on_train_batch_start(self, *_: Any) -> None:
        self.in_step = True
        self.layer_calls.append(Counter())

    def on_train_batch_end(self, *_: Any) -> None:
        self.in_step = False


def watched_run(tmp_path: Path, extra: list[str]) -> ModeWatcher:
    watcher = ModeWatcher()
    cfg = train_settings(tmp_path, [*WATCHED, *extra])
    train(cfg, RunContext(output_dir=tmp_path), extra_callbacks=[watcher])
    assert len(watcher.layer_calls) == STEPS
    return watcher


@pytest.mark.parametrize("extra", [[], HELDOUT_SCORING], ids=["validation", "heldout_scoring"])
def test_every_module_trains_in_every_step(tmp_path: Path, extra) -> None:
    watcher = watched_run(tmp_path, extra)
    assert watcher.eval_modules == set(), f"in eval mode during training: {watcher.eval_modules}"
    # without checkpointing each decoder layer runs once per step
    assert all(set(step.values()) == {1} for step in watcher.layer_calls), watcher.layer_calls


def test_gradient_checkpointing_recomputes_every_layer(tmp_path: Path) -> None:
    watcher = watched_run(tmp_path, ["model.gradient_checkpointing=true"])
    assert watcher.eval_modules == set(), f"in eval mode during training: {watcher.eval_modules}"
    layers = 2  # conf/model/tiny_llama.yaml
    for step in watcher.layer_calls:
        assert len(step) == layers and set(step.values()) == {2}, (
            f"each decoder layer should run forward + recompute once per step: {step}"
        )
