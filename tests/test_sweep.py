"""A real multirun: one job dir, one metrics file and one offline W&B run per job; compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from bailong.analysis.runs import find_jobs
from bailong.cli.compare import main as compare_main

TINY = [
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=4",
]


def run_train(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "BAILONG_CACHE": str(tmp_path / "cache")}
    env.pop("WANDB_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "bailong.cli.train", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_multirun_gives_one_job_dir_metrics_and_wandb_run_per_job(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = run_train(
        ["-m", "lora=r8,r16", "seed=1,2", "logger=many_loggers", f"hydra.sweep.dir={sweep}", *TINY],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = find_jobs(sweep)
    assert len(jobs) == 4
    assert sorted(j.label for j in jobs) == sorted(
        f"lora={r},seed={s}" for r in ("r8", "r16") for s in (1, 2)
    )
    for job in jobs:
        assert job.metrics() is not None and "train/loss" in job.metrics()
        runs = list((job.path / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, f"{job.path}: expected one W&B run, found {runs}"
        assert list(runs[0].glob("*.wandb")), "the offline run holds its history file"

    compare_main([str(sweep), "--tokens", "1000", "--threshold", "100"])
    out = sweep / "compare"
    assert (out / "loss_vs_tokens.png").stat().st_size > 10_000
    table = pd.read_csv(out / "summary.csv")
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert table["step0_val_loss"].notna().all()
    assert (table["tokens_to_100"] == 256).all(), "every loss is below 100 at the first step"
    assert "| job" in (out / "summary.md").read_text(encoding="utf-8")


def test_a_failing_job_is_reported_and_others_keep_their_results(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # optim.lr=-1 fails validation for that job only; Hydra's basic launcher stops at the
    # first failure, so the failing job comes last and the earlier one must be intact.
    proc = run_train(["-m", "optim.lr=0.001,-1", f"hydra.sweep.dir={sweep}", *TINY], tmp_path)
    assert proc.returncode != 0
    assert "optim.lr=-1" in proc.stderr
    jobs = find_jobs(sweep)
    assert len(jobs) == 2
    ok, bad = jobs
    assert not ok.failed and ok.metrics() is not None
    assert bad.failed and "optim.lr" in bad.failure
    compare_main([str(sweep)])
    table = pd.read_csv(sweep / "compare" / "summary.csv")
    assert list(table["status"]) == ["ok", "failed"]
