"""A real multirun: one job dir, one metrics file and one offline W&B run per job; compare."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from bailong.analysis.runs import find_jobs
from bailong.cli.compare import main as compare_main
from bailong.core.shared_data import ENV_VAR, shared_data_dir
from tests.conftest import require_shared

TINY = [
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=4",
]


def run_app(
    module: str, args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **(env or {}),
        "WANDB_MODE": "offline",
        "BAILONG_CACHE": str(tmp_path / "cache"),
        ENV_VAR: str(shared_data_dir() or tmp_path / "no-shared-data"),
    }
    env.pop("WANDB_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )


def run_train(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return run_app("bailong.cli.train", args, tmp_path, env)


def test_embedding_init_by_lora_rank_sweep_of_the_tiny_ablation(tmp_path: Path) -> None:
    """The README's ablation recipe: extend Llama 2's tokenizer, then 2 inits x 2 ranks with -m."""
    require_shared("tokenizers/llama2/tokenizer.model")
    require_shared("corpora/zh_tw")
    extend = run_app("bailong.cli.extend_tokenizer", [], tmp_path)
    assert extend.returncode == 0, extend.stderr[-3000:]
    sweep = tmp_path / "sweep"
    proc = run_train(
        [
            "-m",
            "experiment=ablate_embedding_init_tiny",
            "embedding_init=zip_tie,random",
            "lora=r8,r16",
            f"hydra.sweep.dir={sweep}",
            *TINY,
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = find_jobs(sweep)
    assert sorted(j.label for j in jobs) == sorted(
        f"embedding_init={e},lora={r}" for e in ("zip_tie", "random") for r in ("r8", "r16")
    )
    for job in jobs:
        assert job.metrics() is not None and "train/loss" in job.metrics()
        runs = list((job.path / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, f"{job.path}: expected one W&B run, found {runs}"
        assert list(runs[0].glob("*.wandb")), "the offline run holds its history file"
        adapter = json.loads((job.path / "adapter" / "adapter_config.json").read_text())
        assert f"lora=r{adapter['r']}" in job.label

    # the W&B run holds the same curve as the CSV; compare falls back to it without a CSV
    csv_curve = jobs[0].metrics()[["step", "train/loss"]].dropna().reset_index(drop=True)
    shutil.rmtree(jobs[0].path / "csv")
    wandb_curve = jobs[0].metrics()[["step", "train/loss"]].dropna().reset_index(drop=True)
    pd.testing.assert_frame_equal(csv_curve, wandb_curve, check_dtype=False)

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
    # the second job's data file is malformed: it passes the sweep's up-front checks and fails
    # while loading (bad values fail before any job: tests/cli/test_sweep_arms.py); the other job's
    # results must be intact and the failure reported.
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text('{"text": "ok"}\n{"text": oops}\n', encoding="utf-8")
    arms = f"data.sources=[],[{{path:{bad_file}}}]"
    proc = run_train(["-m", arms, f"hydra.sweep.dir={sweep}", *TINY], tmp_path)
    assert proc.returncode != 0
    assert f"{bad_file}:2: malformed JSON" in proc.stderr
    outputs = "bailong-train: outputs in sweep/0: csv/metrics.csv, checkpoints/last.ckpt, adapter/"
    assert outputs in proc.stdout, "the job that ran names its outputs (relative to the cwd)"
    jobs = find_jobs(sweep)
    assert len(jobs) == 2
    ok, bad = jobs
    assert not ok.failed and ok.metrics() is not None
    assert bad.failed and f"{bad_file}:2: malformed JSON" in bad.failure
    compare_main([str(sweep)])
    table = pd.read_csv(sweep / "compare" / "summary.csv")
    assert list(table["status"]) == ["ok", "failed"]
