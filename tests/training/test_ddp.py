"""Two-process data-parallel training on CPU (Lightning ``ddp``, gloo), as a user launches it:

    bailong-train trainer=ddp trainer.accelerator=cpu trainer.devices=2 ...

The run goes through ``tests/support/ddp_recorder.py`` (the real CLI; each rank also records the
blocks it trains on and the files it saves). The base is the default 4-bit NF4 tiny Llama with
LoRA. The five two-process runs took about five minutes in all on 2 cores shared with other
jobs, so they are marked slow; the checks at the end need no second process and are fast.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.utilities import rank_zero_only

from bailong.core.atomic_dir import TMP_SUFFIX
from bailong.core.checks import ConfigError
from bailong.data.build import build_datamodule
from bailong.training.global_batch import global_batch
from bailong.training.loggers import build_csv_logger
from bailong.training.run import build_tokenizer
from bailong.training.sweep_launch import check_sweep_launch
from tests.support.helpers import CONF, cache_root, train_settings

REPO = Path(__file__).resolve().parents[2]
STEPS, DEVICES, MICRO, ACCUMULATE, BLOCK = 4, 2, 2, 2, 64
DDP = [
    "trainer=ddp",
    "trainer.accelerator=cpu",
    f"trainer.devices={DEVICES}",
    "trainer.precision=32-true",
    f"trainer.accumulate_grad_batches={ACCUMULATE}",
    f"trainer.max_steps={STEPS}",
    f"optim.schedule_steps={STEPS}",
    "trainer.val_check_interval=4",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "lora.dropout=0.1",  # resume must restore the dropout RNG streams too
    f"data.block_size={BLOCK}",
    f"data.batch_size={MICRO}",
]


def run_ddp(
    run_dir: Path, record_dir: Path, overrides: list[str], tmp: Path, **env_vars: str
) -> None:
    """``bailong-train`` with two ranks; on a hang the whole process group is killed."""
    env = {
        **os.environ,
        **env_vars,
        "OMP_NUM_THREADS": "1",
        "WANDB_MODE": "offline",
        "BAILONG_CACHE": str(cache_root(tmp)),
        "BAILONG_TEST_RECORD": str(record_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    args = [
        sys.executable,
        "-m",
        "tests.support.ddp_recorder",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    log = run_dir.with_suffix(".log")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            args, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0, log.read_text()[-4000:]


def records(record_dir: Path, rank: int) -> list[dict[str, Any]]:
    path = record_dir / f"rank{rank}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def column(rows: list[dict[str, str]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("ddp")
    run_dir, record_dir = tmp / "full", tmp / "full-record"
    run_ddp(run_dir, record_dir, [*DDP, "logger=many_loggers"], tmp)
    return run_dir, record_dir


def blocks(events: list[dict[str, Any]]) -> list[tuple[int, ...]]:
    return [tuple(row) for e in events if e["event"] == "batch" for row in e["input_ids"]]


@pytest.mark.slow
def test_each_rank_trains_on_its_own_shard_of_the_packed_blocks(full_run, tmp_path) -> None:
    _, record_dir = full_run
    rank0, rank1 = blocks(records(record_dir, 0)), blocks(records(record_dir, 1))
    per_rank = STEPS * ACCUMULATE * MICRO
    assert len(rank0) == len(rank1) == per_rank
    assert not set(rank0) & set(rank1), "the two ranks trained on the same block"
    # ...and each is a part of the training split the single-process run would build
    cfg = train_settings(tmp_path, DDP)
    datamodule = build_datamodule(cfg.data, build_tokenizer(cfg), cfg.seed)
    datamodule.setup("fit")
    train_set = datamodule.train_set
    train_blocks = Counter(tuple(train_set[i]["input_ids"].tolist()) for i in range(len(train_set)))
    assert all(train_blocks[b] == 1 for b in rank0 + rank1), "unknown or repeated block"
    assert len(set(rank0 + rank1)) == 2 * per_rank


@pytest.mark.slow
def test_tokens_seen_counts_every_rank_once_and_matches_the_global_batch(full_run) -> None:
    run_dir, record_dir = full_run
    hparams = yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())
    global_tokens = DEVICES * MICRO * ACCUMULATE * BLOCK
    assert hparams == {
        "world_size": DEVICES,
        "micro_batch": MICRO,
        "accumulate_grad_batches": ACCUMULATE,
        "global_batch_sequences": DEVICES * MICRO * ACCUMULATE,
        "global_batch_tokens": global_tokens,
    }
    assert f"global batch: {DEVICES} rank(s)" in (run_dir / "train.log").read_text()
    tokens = column(metrics(run_dir), "train/tokens_seen")
    assert tokens == [(s, float((s + 1) * global_tokens)) for s in range(STEPS)]
    trained = sum(e["tokens"] for r in (0, 1) for e in records(record_dir, r) if "tokens" in e)
    assert tokens[-1][1] == trained


def written_dir(path: str) -> str:
    """The directory a write lands in: an atomic write's temporary sibling
    ``.<name>.<random>.tmp`` becomes ``<name>`` (bailong.core.atomic_dir)."""
    match = re.fullmatch(r"\.(.+)\.[^.]+" + re.escape(TMP_SUFFIX), Path(path).name)
    return str(Path(path).with_name(match.group(1))) if match else path


@pytest.mark.slow
def test_only_rank_zero_writes_the_adapter_run_record_and_logs(full_run) -> None:
    run_dir, record_dir = full_run
    writes = [[e for e in records(record_dir, r) if e["event"] != "batch"] for r in (0, 1)]
    saves = [[{**e, "path": written_dir(e["path"])} for e in rank] for rank in writes]
    adapter = str(run_dir / "adapter")
    assert saves[0] == [{"event": "save", "path": adapter}, {"event": "record", "path": adapter}]
    assert saves[1] == [], "rank 1 wrote the adapter or the run record"
    steps = [s for s, _ in column(metrics(run_dir), "train/loss")]
    assert steps == list(range(STEPS)), "every step is logged once"
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1, "one W&B run"
    assert sorted(p.name for p in (run_dir / ".hydra").iterdir()) == [
        "config.yaml", "hydra.yaml", "overrides.yaml",
    ]  # fmt: skip
    # Each rank keeps its own text log (rank 1's is the place to look when it fails)
    assert sorted(p.name for p in run_dir.glob("*.log")) == ["train.log", "train_ddp_process_1.log"]


@pytest.mark.slow
def test_two_rank_resume_reproduces_the_uninterrupted_losses(full_run, tmp_path) -> None:
    full_dir, _ = full_run
    part_dir = tmp_path / "part"
    run_ddp(part_dir, tmp_path / "rec-a", [*DDP, f"trainer.max_steps={STEPS // 2}"], tmp_path)
    run_ddp(part_dir, tmp_path / "rec-b", [*DDP, "ckpt_path=last"], tmp_path)
    resumed_batches = [e["step"] for e in records(tmp_path / "rec-b", 1) if e["event"] == "batch"]
    assert resumed_batches[0] == STEPS // 2, "the resumed run started from the checkpoint"
    full, part = metrics(full_dir), metrics(part_dir)
    assert column(part, "train/loss") == column(full, "train/loss")
    assert column(part, "train/tokens_seen") == column(full, "train/tokens_seen")


@pytest.mark.slow
def test_padded_batches_count_each_ranks_own_tokens(tmp_path: Path) -> None:
    """SFT rows are padded, so the two ranks see different token counts in a step."""
    run_dir, record_dir = tmp_path / "sft", tmp_path / "sft-record"
    sft = ["data=sft_sample", "stage=sft", "validate_before_fit=false", "save_adapter=false"]
    packed_text = f"data.block_size={BLOCK}"  # conversations keep sft_sample's longer rows
    overrides = [o for o in DDP if o != packed_text]
    run_ddp(run_dir, record_dir, [*overrides, *sft, "trainer.max_steps=2"], tmp_path)
    per_rank = [sum(e.get("tokens", 0) for e in records(record_dir, r)) for r in (0, 1)]
    assert per_rank[0] != per_rank[1], "the ranks' batches happen to be equally long"
    assert column(metrics(run_dir), "train/tokens_seen")[-1][1] == sum(per_rank)


@pytest.mark.slow
def test_a_nan_loss_on_one_rank_is_skipped_by_both(tmp_path: Path) -> None:
    """Rank 1 alone gets a NaN loss in its 4th micro-batch (the last of step 1, the one whose
    backward synchronizes gradients); with the skip policy both ranks skip that batch together
    instead of rank 0 waiting for rank 1's gradients."""
    run_dir = tmp_path / "nan"
    skip = ["optim.on_nonfinite_loss=skip", "validate_before_fit=false", "save_adapter=false"]
    run_ddp(run_dir, tmp_path / "rec", [*DDP, *skip], tmp_path, BAILONG_TEST_NAN_RANK="1")
    rows = metrics(run_dir)
    skipped = column(rows, "train/skipped_batches")
    assert skipped[0] == (1, 1.0) and {v for _, v in skipped} == {1.0}, skipped
    losses = dict(column(rows, "train/loss"))
    assert sorted(losses) == list(range(STEPS)), "training went on to max_steps"
    assert [s for s, v in losses.items() if v != v] == [1], "step 1 logs the NaN mean loss"


# ---- fast: no second process ------------------------------------------------------------------


def test_global_batch_multiplies_devices_micro_batch_and_accumulation(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, DDP)
    trainer = L.Trainer(
        accelerator="cpu", devices=2, strategy="ddp", accumulate_grad_batches=3, logger=False
    )  # the processes start at fit; building the Trainer launches nothing
    assert global_batch(trainer, cfg.data) == {
        "world_size": 2,
        "micro_batch": MICRO,
        "accumulate_grad_batches": 3,
        "global_batch_sequences": 2 * MICRO * 3,
        "global_batch_tokens": 2 * MICRO * 3 * BLOCK,
    }


def test_csv_logger_on_a_non_zero_rank_leaves_the_metrics_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics_file = tmp_path / "csv" / "metrics.csv"
    metrics_file.parent.mkdir()
    metrics_file.write_text("step,train/loss\n0,7.5\n")
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    logger = build_csv_logger(tmp_path, "csv", resuming=True)
    logger.log_metrics({"train/loss": 7.0}, step=1)
    logger.save()
    assert metrics_file.read_text() == "step,train/loss\n0,7.5\n"


def in_hydra_job(mode: RunMode) -> None:
    """Make the process look like a job of ``mode`` launched by ``bailong-train``."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"hydra.mode={mode.name}"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)


@pytest.fixture
def no_launcher_env(monkeypatch: pytest.MonkeyPatch):
    for name in ("LOCAL_RANK", "SLURM_NTASKS", "SLURM_JOB_NAME", "RANK", "GROUP_RANK"):
        monkeypatch.delenv(name, raising=False)
    yield
    HydraConfig.instance().cfg = None


def test_a_sweep_refuses_ranks_that_lightning_would_start_by_rerunning_it(
    no_launcher_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_cpus = {"strategy": "ddp", "accelerator": "cpu", "devices": 2}
    in_hydra_job(RunMode.MULTIRUN)
    with pytest.raises(ConfigError, match="inside a -m sweep: Lightning would start the extra"):
        check_sweep_launch(two_cpus)
    check_sweep_launch({**two_cpus, "devices": 1})  # one process: nothing to re-launch
    check_sweep_launch({**two_cpus, "strategy": "ddp_spawn"})  # spawned, not re-run
    monkeypatch.setenv("SLURM_NTASKS", "2")  # a Slurm task: Slurm started the ranks
    monkeypatch.setenv("SLURM_JOB_NAME", "train")
    check_sweep_launch(two_cpus)
    monkeypatch.delenv("SLURM_NTASKS")
    in_hydra_job(RunMode.RUN)  # a single run re-runs only itself
    check_sweep_launch(two_cpus)
