"""W&B runs of a sweep, checked offline (no network): one readable group per sweep, run
names from the overrides the sweep varies, the step-0 loss in each run's summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import wandb

from bailong.analysis.runs import find_jobs
from bailong.analysis.wandb_offline import offline_run_file, read_run
from bailong.cli.compare import main as compare_main
from bailong.training.loggers import build_loggers
from bailong.training.run_names import arm_name, sweep_group, swept_keys
from tests.cli.test_sweep import TINY, run_train


def test_run_names_keep_only_the_overrides_the_sweep_varies() -> None:
    sweep = ["experiment=ablate_lora_rank_tiny", "logger=wandb", "data.batch_size=4"]
    swept = swept_keys([*sweep, "lora=r8,r16", "seed=range(1,3)", "embedding_init=zip_tie"])
    assert swept == {"lora", "seed"}
    job = [*sweep, "lora=r16", "seed=2", "embedding_init=zip_tie"]
    assert arm_name(job, swept, "fallback") == "lora=r16,seed=2"
    assert arm_name(sweep, swept, "train-0") == "train-0", "nothing varies: job number"
    assert arm_name(job, None, "x") == ",".join(job), "unknown sweep: every override"
    optuna = swept_keys(["optim.lr=tag(log, interval(1e-5, 3e-3))", "lora.r=choice(8, 16)"])
    assert optuna == {"optim.lr", "lora.r"}


def test_sweep_groups_are_readable_and_differ_between_sweeps_of_the_same_second(
    tmp_path: Path,
) -> None:
    time = "2026-12-03_06-30-00"
    first = sweep_group("ablate_lora_rank_tiny", tmp_path / "a" / time)
    second = sweep_group("ablate_lora_rank_tiny", tmp_path / "b" / time)
    assert first.startswith(f"ablate_lora_rank_tiny-{time}-") and len(first.split("-")[-1]) == 6
    assert first != second
    assert first == sweep_group("ablate_lora_rank_tiny", tmp_path / "a" / time), "every job"


def test_step0_values_are_kept_in_the_run_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    config = {"wandb": {"mode": "offline", "project": "bailong"}}
    [logger] = build_loggers(config, tmp_path, "lora=r8", "sweep-x-123abc", "pretrain", {})
    logger.log_metrics({"val/loss": 7.61, "val/ppl": 2022.0, "val/tokens_seen": 0.0}, step=0)
    logger.log_metrics({"heldout/bpc": 14.2, "train/tokens_seen": 0.0}, step=0)
    logger.log_metrics({"train/loss": 7.60, "train/tokens_seen": 256.0}, step=0)
    logger.log_metrics({"val/loss": 7.58, "val/tokens_seen": 1024.0}, step=3)
    wandb.finish()
    # finish() can return before W&B's service has written the run file (seen after the
    # notebook tests' kernels ran in this process); teardown waits for the service to stop
    wandb.teardown()
    run = read_run(offline_run_file(tmp_path))
    assert (run.group, run.name, run.job_type) == ("sweep-x-123abc", "lora=r8", "pretrain")
    assert run.summary["step0/val/loss"] == pytest.approx(7.61)
    assert run.summary["step0/heldout/bpc"] == pytest.approx(14.2)
    assert run.summary["val/loss"] == pytest.approx(7.58), "the last value stays W&B's own"
    assert "step0/train/loss" not in run.summary, "a training loss is logged after an update"


@pytest.mark.slow
def test_a_real_sweep_names_its_wandb_runs_and_draws_step0_at_zero(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = run_train(
        ["-m", "lora=r8,r16", "logger=many_loggers", f"hydra.sweep.dir={sweep}", *TINY], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = find_jobs(sweep)
    runs = [read_run(offline_run_file(job.path)) for job in jobs]
    assert [r.name for r in runs] == ["lora=r8", "lora=r16"], "no constant logger=, data.*"
    assert runs[0].group == runs[1].group == sweep_group("train", sweep)
    compare_main([str(sweep)])
    points = pd.read_csv(sweep / "compare" / "curves.csv")
    step0 = points[points["tokens"] == 0].set_index("job")
    assert list(step0.index) == ["lora=r8", "lora=r16"] and set(step0["metric"]) == {"val/loss"}
    for run in runs:
        assert run.summary["step0/val/loss"] == pytest.approx(step0.loc[run.name, "value"])
    # the step-0 validation loss is the pre-update one: every job logged it at step 0 before
    # its first training row, and it is not drawn at that row's tokens
    first_train = points[points["metric"] == "train/loss"].groupby("job")["tokens"].min()
    assert (first_train > 0).all()
