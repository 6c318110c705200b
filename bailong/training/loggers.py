"""Experiment loggers from the ``logger`` config group (csv, wandb, both, or none).

W&B conventions for sweeps: one run per job (the task wrapper calls ``wandb.finish``), run
name from the overrides the sweep varies, ``group`` unique per sweep (both from
bailong.training.run_names), ``job_type`` = the stage, curves plotted against
``train/tokens_seen``, the values logged before any update (the step-0 validation loss,
held-out bits per character) kept in the run's summary as ``step0/<metric>`` so the runs
table compares them without opening a chart, offline by default without an API key, and the
offline run folder inside the job's output dir so ``wandb sync <output_dir>/wandb`` uploads
it later.
"""

from __future__ import annotations

import csv
import logging
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only

from bailong.core.redact import redact
from bailong.core.safe_paths import inside_output_dir

log = logging.getLogger(__name__)
DEFAULT_WANDB_URL = "https://api.wandb.ai"
CARRIED_METRICS = ".metrics.carried.csv"  # a resumed run's earlier rows, while it starts up


def wandb_server_reachable(timeout_s: float = 3.0) -> bool:
    """Whether a TCP connection to the W&B server (``WANDB_BASE_URL``) opens within seconds."""
    url = urlsplit(os.environ.get("WANDB_BASE_URL") or DEFAULT_WANDB_URL)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wandb_mode(requested: str | None) -> str:
    """Explicit mode wins; else WANDB_MODE; else online only when an API key is configured and
    the server answers (without a network, wandb.init would spend minutes, then fail)."""
    if requested:
        return requested
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if not os.environ.get("WANDB_API_KEY"):
        return "offline"
    if not wandb_server_reachable():
        log.warning(
            "WANDB_API_KEY is set but the W&B server cannot be reached: logging offline "
            "(upload later with `wandb sync <run dir>/wandb`)"
        )
        return "offline"
    return "online"


STEP0_PREFIX = "step0/"  # run-summary keys of the values logged before any update


def step0_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    """The metrics of a logging call made before any update (its tokens seen are 0), as
    run-summary entries; empty for any later call."""
    tokens = [v for k, v in metrics.items() if k.endswith("/tokens_seen")]
    if not tokens or any(v != 0 for v in tokens):
        return {}
    kept = {k: v for k, v in metrics.items() if "/" in k and not k.endswith("/tokens_seen")}
    return {STEP0_PREFIX + k: v for k, v in kept.items()}


class SweepWandbLogger(WandbLogger):
    """Lightning's W&B logger that also keeps the step-0 values in the run's summary (W&B's
    summary otherwise holds only the last value of each metric)."""

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        if first := step0_metrics(metrics):
            self.experiment.summary.update(first)


def build_wandb_logger(
    cfg: dict[str, Any],
    output_dir: Path,
    run_name: str,
    group: str,
    job_type: str,
    config: dict[str, Any],
) -> WandbLogger:
    import wandb  # here: only runs that log to W&B pay for the import

    # passed to this run only: writing it to os.environ would carry it into the next sweep job
    mode = wandb_mode(cfg.get("mode"))
    logger = SweepWandbLogger(
        project=cfg.get("project", "bailong"),
        entity=cfg.get("entity"),
        name=run_name,
        group=cfg.get("group") or group,
        job_type=cfg.get("job_type") or job_type,
        tags=list(cfg.get("tags") or []),
        save_dir=str(output_dir),
        mode=mode,
        config=redact(config),
        # no 28-line run history/summary per job at the end (the CSV and W&B hold it all)
        settings=wandb.Settings(quiet=True),
    )
    # Lightning always passes anonymous=None, for which wandb prints "The anonymous setting
    # has no effect"; the setting is deprecated, so leaving it out changes nothing else.
    logger._wandb_init.pop("anonymous", None)
    experiment = logger.experiment
    experiment.define_metric("train/tokens_seen")
    experiment.define_metric("train/*", step_metric="train/tokens_seen")
    experiment.define_metric("val/*", step_metric="val/tokens_seen")
    return logger


def build_csv_logger(output_dir: Path, name: str, resuming: bool) -> CSVLogger:
    """A CSV logger writing ``<output_dir>/<name>/metrics.csv``.

    Lightning deletes an existing metrics file when a new logger opens the folder; a resumed
    run instead carries the earlier rows over so one file holds the whole curve (readers keep
    the last row per step: steps between the checkpoint and a kill are logged twice). The
    earlier rows are first moved aside (an atomic rename to ``.metrics.carried.csv``), then
    written back merged before training goes on, and only then is the carried file removed:
    a second kill at any point of this start-up loses no row.
    """
    inside_output_dir(output_dir, name, "logger.csv.name")
    logger = CSVLogger(save_dir=str(output_dir), name=name, version="")
    metrics_file = Path(logger.log_dir) / "metrics.csv"
    if rank_zero_only.rank != 0:  # type: ignore[attr-defined]  # set by Lightning, not declared
        return logger  # only rank 0 writes the file; elsewhere `experiment` is a stand-in
    carried = metrics_file.with_name(CARRIED_METRICS)
    earlier: list[dict[str, Any]] = []
    if resuming:
        if metrics_file.is_file() and not carried.is_file():
            os.replace(metrics_file, carried)
        if carried.is_file():
            with open(carried, newline="", encoding="utf-8") as handle:
                earlier = [
                    {k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)
                ]
    experiment = logger.experiment  # deletes metrics.csv; the rows are safe in `carried`
    if earlier:
        experiment.metrics.extend(earlier)
        experiment.save()
    carried.unlink(missing_ok=True)
    return logger


def build_loggers(
    cfg: dict[str, Any],
    output_dir: Path,
    run_name: str,
    group: str,
    job_type: str,
    config: dict[str, Any],
    resuming: bool = False,
) -> list[Logger]:
    loggers: list[Logger] = []
    if "csv" in cfg:
        name = str(cfg["csv"].get("name", "csv"))
        loggers.append(build_csv_logger(output_dir, name, resuming))
    if "wandb" in cfg:
        loggers.append(
            build_wandb_logger(cfg["wandb"], output_dir, run_name, group, job_type, config)
        )
    unknown = set(cfg) - {"csv", "wandb"}
    if unknown:
        raise ValueError(f"logger: unknown logger(s) {sorted(unknown)}; known: ['csv', 'wandb']")
    return loggers
