"""The Optuna sweeper end to end: trials are training jobs that return ``val/loss``."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from bailong.analysis.runs import find_jobs
from tests.cli.test_sweep import TINY, run_train


@pytest.mark.slow
def test_optuna_trials_train_and_the_study_minimizes_val_loss(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = run_train(
        [
            "-m",
            "hparams_search=optuna_lr_rank",
            "experiment=tiny_cpu",
            "hydra.sweeper.n_trials=2",
            f"hydra.sweep.dir={sweep}",
            *TINY,
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = find_jobs(sweep)
    assert len(jobs) == 2 and not any(j.failed for j in jobs)
    losses = [float(j.metrics()["val/loss"].dropna().iloc[-1]) for j in jobs]
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna" and math.isclose(best["best_value"], min(losses))
    assert {"optim.lr", "lora.r", "optim.warmup_steps"} == set(best["best_params"])
