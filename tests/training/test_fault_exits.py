"""A run that is stopped or broken never looks successful, and never saves broken weights."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file

from bailong.apps.reload import RunRecord
from bailong.core.run_files import FAILED_MARKER
from bailong.training.module import CausalLMModule, NonFiniteWeightsError
from bailong.training.run import RunContext, train
from bailong.training.sigterm import EXIT_STATUS, Terminated
from bailong.training.task import run_task
from tests.support.helpers import train_settings
from tests.training.test_train import FAST, column, read_metrics

QUIET = [*FAST, "validate_before_fit=false", "trainer.val_check_interval=100"]


class SigtermAt(L.Callback):
    """Sends this process SIGTERM after the given training step, as a scheduler would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_saves_a_checkpoint_and_exits_non_zero(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, [*QUIET, "callbacks.checkpoint.every_n_train_steps=100"])
    with pytest.raises(SystemExit) as stopped:
        train(cfg, RunContext(output_dir=tmp_path), extra_callbacks=[SigtermAt(step=2)])
    assert isinstance(stopped.value, Terminated) and stopped.value.code == EXIT_STATUS != 0
    assert "stopped by SIGTERM at global step 2" in str(stopped.value)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2, "the steps done before SIGTERM are kept"
    assert not (tmp_path / "adapter").exists()
    train(train_settings(tmp_path, [*QUIET, "ckpt_path=last"]), RunContext(output_dir=tmp_path))
    assert [s for s, _ in column(read_metrics(tmp_path), "train/loss")][-1] == 5


def test_sigterm_during_the_adapter_save_finishes_it_then_exits_143(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM after the adapter's weights are written, before its tokenizer and run record.
    Outside fitting nobody handled it: the process died with an empty ``adapter/``."""
    real_save = PeftModel.save_pretrained

    def save_then_sigterm(self: PeftModel, *args: Any, **kwargs: Any) -> None:
        real_save(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)

    def killed(signum: int, frame: Any) -> None:
        raise AssertionError("SIGTERM reached the process's own handler: the save was cut")

    monkeypatch.setattr(PeftModel, "save_pretrained", save_then_sigterm)
    previous = signal.signal(signal.SIGTERM, killed)  # stands in for the default: death
    try:
        with pytest.raises(SystemExit) as stopped:
            run_task(lambda: train(train_settings(tmp_path, QUIET), RunContext(tmp_path)), tmp_path)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert isinstance(stopped.value, Terminated) and stopped.value.code == EXIT_STATUS
    assert f"{tmp_path / 'adapter'} was saved complete" in str(stopped.value)
    assert str(stopped.value) in (tmp_path / FAILED_MARKER).read_text("utf-8")
    monkeypatch.undo()
    assert RunRecord.read(tmp_path / "adapter").base_vocab_size > 0
    loaded = load_file(tmp_path / "adapter" / "adapter_model.safetensors")
    assert loaded and (tmp_path / "adapter" / "tokenizer_config.json").is_file()
    assert sorted(p.name for p in tmp_path.glob(".adapter*")) == [], "no partial folder left"


class BrokenAfterFirstStep(CausalLMModule):
    """The real module whose LoRA weights turn NaN after the first update (what lr=inf does):
    every later loss is NaN and, with on_nonfinite_loss=skip, skipped."""

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.global_step == 1:
            with torch.no_grad():
                next(p for n, p in self.named_parameters() if "lora_A" in n).fill_(float("nan"))


def test_all_batches_skipped_as_non_finite_fails_and_saves_no_adapter(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, [*QUIET, "optim.on_nonfinite_loss=skip"])
    with pytest.raises(NonFiniteWeightsError, match=r"batches skipped as non-finite") as info:
        train(cfg, RunContext(output_dir=tmp_path), build_module=BrokenAfterFirstStep)
    assert "the checkpoint was not saved" in str(info.value)
    assert not (tmp_path / "adapter").exists()
    assert not list((tmp_path / "checkpoints").glob("*.ckpt")), "no NaN checkpoint either"


def test_non_finite_weights_are_caught_before_the_adapter_when_no_checkpoint_is_taken(
    tmp_path: Path,
) -> None:
    cfg = train_settings(
        tmp_path, [*QUIET, "optim.on_nonfinite_loss=skip", "callbacks.checkpoint.enabled=false"]
    )
    with pytest.raises(NonFiniteWeightsError, match=r"\d+ batches skipped .* trained model"):
        train(cfg, RunContext(output_dir=tmp_path), build_module=BrokenAfterFirstStep)
    assert not (tmp_path / "adapter").exists()
