"""Faults lose no work: killed runs resume exactly, failed saves keep the last good checkpoint,
non-finite losses stop clearly (or are skipped and counted)."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bailong.training import checkpoint_io
from bailong.training.checkpoint_io import CheckpointWriteError, atomic_torch_save
from bailong.training.module import CausalLMModule, NonFiniteLossError
from bailong.training.run import RunContext, train
from tests.support.helpers import cache_root, train_process, train_settings
from tests.training.test_train import FAST, column, read_metrics

REAL_SAVE = torch.save


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


# ---- interrupted and failed checkpoint writes ------------------------------------------------


def half_written_then(error: BaseException):
    """A torch.save that writes the first half of the real bytes, then fails with ``error``."""

    def save(obj: object, handle: io.BufferedWriter) -> None:
        buffer = io.BytesIO()
        REAL_SAVE(obj, buffer)
        handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        handle.flush()
        raise error

    return save


@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt(), RuntimeError("writer crashed"), OSError(errno.EIO, "I/O error")],
    ids=["interrupt", "crash", "io-error"],
)
def test_interrupted_write_leaves_previous_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1, "w": torch.arange(1000.0)}, target)
    before = target.read_bytes()
    monkeypatch.setattr(checkpoint_io.torch, "save", half_written_then(error))
    with pytest.raises((type(error), CheckpointWriteError)):
        atomic_torch_save({"step": 2, "w": torch.zeros(1000)}, target)
    assert target.read_bytes() == before
    assert torch.load(target, weights_only=True)["step"] == 1
    assert temp_files(tmp_path) == [], "the partial temp file is removed"


def test_disk_full_on_fsync_names_the_path_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "step-000002.ckpt"
    atomic_torch_save({"step": 2}, target)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint_io.os, "fsync", full)
    with pytest.raises(CheckpointWriteError) as info:
        atomic_torch_save({"step": 4}, target)
    assert info.value.errno == errno.ENOSPC
    assert str(target) in str(info.value) and "No space left" in str(info.value)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 2}
    assert temp_files(tmp_path) == []


def test_disk_full_while_training_fails_loudly_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saves at step 2 succeed; the disk is full from step 4 on: the run stops naming the file."""
    cfg = train_settings(
        tmp_path,
        [*FAST, "trainer.max_steps=6", "callbacks.checkpoint.every_n_train_steps=2",
         "callbacks.checkpoint.keep=2", "validate_before_fit=false",
         "trainer.val_check_interval=100"],
    )  # fmt: skip
    saves = []

    def save_until_full(obj: object, handle: io.BufferedWriter) -> None:
        saves.append(obj["global_step"])  # type: ignore[index]
        if obj["global_step"] >= 4:  # type: ignore[index]
            handle.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        REAL_SAVE(obj, handle)

    monkeypatch.setattr(checkpoint_io.torch, "save", save_until_full)
    with pytest.raises(CheckpointWriteError, match=r"No space left on device") as info:
        train(cfg, RunContext(output_dir=tmp_path))
    assert str(tmp_path / "checkpoints") in str(info.value)
    monkeypatch.undo()
    ckpts = tmp_path / "checkpoints"
    assert 2 in saves and 4 in saves
    last = torch.load(ckpts / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2, "last.ckpt is still the good step-2 checkpoint"
    assert torch.load(ckpts / "step-000002.ckpt", weights_only=True)["global_step"] == 2
    assert temp_files(ckpts) == []


# ---- NaN / inf losses ------------------------------------------------------------------------


class PoisonedModule(CausalLMModule):
    """The real module whose 3rd training forward returns a NaN (or inf) loss."""

    poison_call = 3
    poison_value = float("nan")

    def forward(self, **batch: torch.Tensor):  # type: ignore[no-untyped-def]
        out = super().forward(**batch)
        if self.training:
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == self.poison_call:
                out.loss = out.loss * self.poison_value
        return out


NAN_RUN = [*FAST, "validate_before_fit=false", "trainer.val_check_interval=100"]


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_loss_stops_naming_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: float
) -> None:
    monkeypatch.setattr(PoisonedModule, "poison_value", value)
    cfg = train_settings(tmp_path, NAN_RUN)
    with pytest.raises(NonFiniteLossError, match=rf"loss is {value} at global step 2 "):
        train(cfg, RunContext(output_dir=tmp_path), build_module=PoisonedModule)


def test_non_finite_loss_skip_counts_logs_and_continues(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = train_settings(tmp_path, [*NAN_RUN, "optim.on_nonfinite_loss=skip"])
    with caplog.at_level("WARNING", logger="bailong.training.module"):
        train(cfg, RunContext(output_dir=tmp_path), build_module=PoisonedModule)
    assert "training loss is nan at global step 2 (batch 2): batch skipped, 1 so far" in caplog.text
    rows = read_metrics(tmp_path)
    skipped = column(rows, "train/skipped_batches")
    assert skipped[0] == (2, 1.0) and {v for _, v in skipped} == {1.0}, skipped
    losses = column(rows, "train/loss")
    assert [s for s, _ in losses] == list(range(6)), "training went on to max_steps"
    finite = [s for s, v in losses if torch.isfinite(torch.tensor(v))]
    assert finite == [0, 1, 3, 4, 5], "the skipped step logs its non-finite loss"
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["bailong"]["skipped_batches"] == 1, "the count survives a resume"
    assert all(torch.isfinite(t).all() for t in ckpt["state_dict"].values())


class WeightWatchingModule(PoisonedModule):
    """The poisoned module keeping a copy of its trainable weights after every batch."""

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        weights = {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}
        self.after_batch = [*getattr(self, "after_batch", []), weights]


def test_a_skipped_batch_leaves_the_weights_alone(tmp_path: Path) -> None:
    """Batch 2 is skipped: its step changes no trainable weight (AdamW at zero gradient would
    still move them), and the next step trains again."""
    modules: list[WeightWatchingModule] = []

    def build(*args, **kwargs) -> WeightWatchingModule:  # type: ignore[no-untyped-def]
        modules.append(WeightWatchingModule(*args, **kwargs))
        return modules[-1]

    cfg = train_settings(tmp_path, [*NAN_RUN, "optim.on_nonfinite_loss=skip"])
    train(cfg, RunContext(output_dir=tmp_path), build_module=build)
    after = modules[0].after_batch
    assert len(after) == 6

    def same(i: int) -> bool:
        return all(torch.equal(after[i][name], after[i - 1][name]) for name in after[i])

    assert [same(1), same(2), same(3)] == [False, True, False]


# ---- SIGKILL mid-epoch, then ckpt_path=last ----------------------------------------------------

KILL_RUN = [
    "trainer.max_steps=10",
    "trainer.val_check_interval=100",
    "validate_before_fit=false",
    "save_adapter=false",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "optim.schedule_steps=10",
    "lora.dropout=0.1",
    "data.block_size=64",
    "data.batch_size=4",
]


def train_cli(run_dir: Path, extra: list[str], tmp_path: Path) -> subprocess.Popen:
    return train_process(run_dir, [*KILL_RUN, *extra], tmp_path)


def finish(proc: subprocess.Popen, run_dir: Path) -> None:
    assert proc.wait(timeout=600) == 0, run_dir.with_suffix(".log").read_text()[-3000:]


def last_loss_per_step(run_dir: Path) -> dict[int, float]:
    """Steps between the checkpoint and the kill are logged twice; the resumed value wins."""
    return dict(column(read_metrics(run_dir), "train/loss"))


def kill_after_first_checkpoint(victim: subprocess.Popen, run_dir: Path) -> int:
    """SIGKILL the run once its first checkpoint exists; the step it holds (mid-epoch 0)."""
    first_ckpt = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not first_ckpt.exists() and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=60) == -signal.SIGKILL
    resumed_from = torch.load(first_ckpt, weights_only=True)
    step = resumed_from["global_step"]
    assert 2 <= step < 10 and resumed_from["epoch"] == 0
    return step


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_reproduces_the_losses(tmp_path: Path) -> None:
    full_dir, killed_dir = tmp_path / "full", tmp_path / "killed"
    full = train_cli(full_dir, [], tmp_path)
    finish(full, full_dir)

    step = kill_after_first_checkpoint(train_cli(killed_dir, [], tmp_path), killed_dir)

    finish(train_cli(killed_dir, ["ckpt_path=last"], tmp_path), killed_dir)
    expected, got = last_loss_per_step(full_dir), last_loss_per_step(killed_dir)
    assert sorted(expected) == list(range(10))
    assert {int(r["epoch"]) for r in read_metrics(full_dir)} == {0}, "the kill was mid-epoch"
    for s in range(step, 10):
        assert got[s] == expected[s], f"step {s}: resumed {got[s]} vs uninterrupted {expected[s]}"
    assert temp_files(killed_dir / "checkpoints") == []


# ---- a sweep job raising at run time -----------------------------------------------------------


@pytest.mark.slow
def test_job_failing_at_run_time_is_reported_and_later_jobs_still_run(tmp_path: Path) -> None:
    """Hydra's basic launcher runs every job before reporting; the first one fails mid-load."""
    from bailong.analysis.runs import find_jobs

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": oops}\n', encoding="utf-8")
    sweep = tmp_path / "sweep"
    env = {**os.environ, "WANDB_MODE": "offline", "BAILONG_CACHE": str(cache_root(tmp_path))}
    proc = subprocess.run(
        [sys.executable, "-m", "bailong.cli.train", "-m", f"hydra.sweep.dir={sweep}",
         f"data.sources=[{{path:{bad}}}],[]", *FAST, "trainer.max_steps=2"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode != 0 and f"{bad}:2: malformed JSON" in proc.stderr
    failed, ok = find_jobs(sweep)
    assert failed.failed and f"{bad}:2: malformed JSON" in failed.failure
    assert not ok.failed and ok.metrics() is not None, "the job after the failure still ran"
