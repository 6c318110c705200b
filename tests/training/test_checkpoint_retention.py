"""Checkpoint disk use: last.ckpt by default, ``keep`` step files and ``best`` on request, and a
logged size that matches the files (issue 17 item 3). test_train/test_faults cover resume."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch

from bailong.training.run import RunContext, train
from tests.support.helpers import train_settings
from tests.training.test_train import FAST, column, read_metrics


def test_keep_and_best_checkpoints_and_the_logged_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = train_settings(
        tmp_path,
        [
            *FAST,
            "trainer.max_steps=9",
            "callbacks.checkpoint.keep=1",
            "callbacks.checkpoint.best=val/loss",
        ],
    )
    with caplog.at_level(logging.INFO, logger="bailong.train"):
        train(cfg, RunContext(output_dir=tmp_path))
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("*.ckpt")) == [
        "best.ckpt",
        "last.ckpt",
        "step-000009.ckpt",
    ]
    fit_val = [(s, v) for s, v in column(read_metrics(tmp_path), "val/loss") if s > 0]
    best_loss = min(v for _, v in fit_val)
    best = torch.load(ckpts / "best.ckpt", weights_only=True)
    assert best["global_step"] % 3 == 0, "written right after a validation (every 3 steps)"
    state = next(v for k, v in best["callbacks"].items() if "val/loss" in k)
    assert state["best_model_score"].item() == pytest.approx(best_loss)

    match = re.search(r"about (\d+) MB each \((\d+) MB at most\)", caplog.text)
    assert match, caplog.text
    size_mb = (ckpts / "last.ckpt").stat().st_size / 1e6
    assert abs(int(match.group(1)) - size_mb) <= max(1.0, 0.1 * size_mb), (match[0], size_mb)
    assert "embedding_init=zip_tie: 1000 rows kept, 512 new token rows" in caplog.text
