"""A resume is bit-identical across an epoch boundary, with validation on."""

from __future__ import annotations

from pathlib import Path

import torch

from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings
from tests.training.test_train import FAST, column, read_metrics


def test_resume_in_epoch_0_reproduces_epoch_1_with_validation_on(tmp_path: Path) -> None:
    """The bundled corpus gives 9 batches of 24 an epoch: stop at step 8, train on to step 12."""
    same = [
        *FAST,
        "data.batch_size=24",
        "trainer.max_steps=12",
        "optim.schedule_steps=12",
        "trainer.val_check_interval=4",
        "callbacks.checkpoint.every_n_train_steps=4",
        "lora.dropout=0.1",
        "save_adapter=false",
    ]
    full_dir, part_dir = tmp_path / "full", tmp_path / "part"
    train(train_settings(full_dir, same), RunContext(output_dir=full_dir))
    train(train_settings(part_dir, [*same, "trainer.max_steps=8"]), RunContext(part_dir))
    assert torch.load(part_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0
    train(train_settings(part_dir, [*same, "ckpt_path=last"]), RunContext(output_dir=part_dir))
    full, part = read_metrics(full_dir), read_metrics(part_dir)
    assert {int(r["epoch"]) for r in full} == {0, 1}, "the run crosses an epoch boundary"
    for key in ("train/loss", "val/loss"):
        expected, got = dict(column(full, key)), dict(column(part, key))
        assert sorted(got) == sorted(expected)
        for step in sorted(expected):
            assert got[step] == expected[step], (
                f"{key} at step {step}: resumed {got[step]} vs uninterrupted {expected[step]}"
            )
