"""Failures are reported in the project's words and the record of them stays true."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from bailong.training import checkpoint_io
from bailong.training.checkpoint_io import CheckpointWriteError, atomic_torch_save
from bailong.training.task import FAILED_MARKER, run_task

REAL_SAVE = torch.save
TORCH_DISK_FULL = "[enforce fail at inline_container.cc:672] . unexpected pos 4288 vs 4176"


def test_disk_full_inside_torchs_zip_writer_is_the_checkpoint_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1}, target)

    def full(obj: object, handle: io.BufferedWriter) -> None:
        handle.write(b"PK\x03\x04" + b"\0" * 60)
        raise RuntimeError(TORCH_DISK_FULL)

    monkeypatch.setattr(checkpoint_io.torch, "save", full)
    with pytest.raises(CheckpointWriteError, match=rf"saving checkpoint {target} failed: .*disk"):
        atomic_torch_save({"step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert sorted(tmp_path.iterdir()) == [target], "no temp file left"


def test_a_job_that_succeeds_after_a_failure_is_no_longer_marked_failed(tmp_path: Path) -> None:
    def crash() -> dict[str, float]:
        raise RuntimeError("killed by a full disk")

    with pytest.raises(RuntimeError):
        run_task(crash, tmp_path)
    assert "killed by a full disk" in (tmp_path / FAILED_MARKER).read_text("utf-8")
    assert run_task(lambda: {"val/loss": 1.5}, tmp_path) == {"val/loss": 1.5}
    assert not (tmp_path / FAILED_MARKER).exists()
