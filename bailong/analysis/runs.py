"""Discover the jobs of a Hydra run or multirun directory and read their metrics.

A job is a directory holding ``.hydra/overrides.yaml``. Its label is its overrides minus
those every job shares, so a 2×2 sweep plots as ``embedding_init=zip_tie,lora=r8`` etc.
Metrics come from the CSV logger (``csv/metrics.csv``), else from the job's offline W&B run
(``logger=wandb`` alone writes no CSV); a ``FAILED`` marker (written by the
task wrapper) flags jobs that raised, so a comparison reports them instead of hiding them.
A metrics file that is unreadable (garbage) or truncated (a last line cut short) is reported
as such in ``metrics_problem``; the complete rows of a truncated file are still used.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from bailong.analysis.wandb_offline import offline_run_file, read_history
from bailong.core.run_files import FAILED_MARKER, METRICS_CSV


@dataclass
class Job:
    path: Path
    overrides: list[str]
    label: str = ""

    @property
    def failed(self) -> bool:
        return (self.path / FAILED_MARKER).is_file()

    @property
    def failure(self) -> str:
        """The last line of the job's traceback (the exception), or '' when it did not fail."""
        if not self.failed:
            return ""
        lines = (self.path / FAILED_MARKER).read_text(encoding="utf-8").strip().splitlines()
        return lines[-1] if lines else "failed"

    def metrics(self) -> pd.DataFrame | None:
        """The job's logged metrics, one row per step; None when none were written (or the
        file is unreadable, see ``metrics_problem``).

        A resumed run re-logs the steps between its checkpoint and the kill; per step and
        metric the last value logged wins, which is the resumed run's. Curves are read from
        :meth:`rows` instead (bailong.analysis.curves): merging by step moves the step-0
        validation loss to the first training step's tokens.
        """
        rows = self.rows()
        return None if rows is None else rows.groupby("step", as_index=False, sort=True).last()

    def rows(self) -> pd.DataFrame | None:
        """The rows as logged (one per logging call, each with its own ``step``)."""
        return self._read_metrics()[0]

    def config(self) -> dict | None:
        """The job's composed config as Hydra saved it (unresolved), None when absent."""
        path = self.path / ".hydra" / "config.yaml"
        if not path.is_file():
            return None
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        return loaded if isinstance(loaded, dict) else None

    @property
    def metrics_problem(self) -> str:
        """Why the job's metrics file is unreadable or incomplete; '' when it is fine."""
        return self._read_metrics()[1]

    def _read_metrics(self) -> tuple[pd.DataFrame | None, str]:
        path = self.path / METRICS_CSV
        problem = ""
        if path.is_file() and path.stat().st_size > 0:
            rows, problem = read_metrics_csv(path)
        elif (run_file := offline_run_file(self.path)) is not None:
            rows = read_history(run_file)
        else:
            return None, problem
        if rows is None or rows.empty:
            return None, problem
        return rows, problem


def read_metrics_csv(path: Path) -> tuple[pd.DataFrame | None, str]:
    """The rows of a CSV logger's file, and what is wrong with it ('' when nothing).

    Every row the logger writes ends with a newline, so a file that does not is truncated:
    its incomplete last line is dropped and reported.
    """
    raw = path.read_bytes()
    problem = ""
    if not raw.endswith(b"\n"):
        raw = raw[: raw.rfind(b"\n") + 1]
        problem = f"{path} is truncated (its incomplete last line was dropped)"
    try:
        rows = pd.read_csv(io.BytesIO(raw))
    except ValueError as err:  # pandas' parser errors and undecodable bytes are ValueErrors
        return None, f"{path} is unreadable ({str(err).splitlines()[0]})"
    if "step" not in rows.columns or not pd.api.types.is_numeric_dtype(rows["step"]):
        return None, f"{path} is not a metrics file (no numeric step column)"
    return rows, problem


def _read_overrides(job_dir: Path) -> list[str]:
    raw = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text(encoding="utf-8"))
    return [str(o) for o in raw or []]


def find_jobs(root: Path) -> list[Job]:
    """All jobs under ``root`` (a single run dir or a multirun dir), labelled, in path order."""
    job_dirs = sorted(
        {p.parent.parent for p in root.rglob(".hydra/overrides.yaml")},
        key=lambda p: [int(s) if s.isdigit() else s for s in p.relative_to(root).parts],
    )
    jobs = [Job(path=d, overrides=_read_overrides(d)) for d in job_dirs]
    shared = set.intersection(*(set(j.overrides) for j in jobs)) if len(jobs) > 1 else set()
    for job in jobs:
        distinct = [o for o in job.overrides if o not in shared]
        job.label = ",".join(distinct) or job.path.name
    return jobs


def varying_keys(jobs: list[Job]) -> tuple[str, list[str]]:
    """A short header and per-job values for tables and legends: ``("embedding_init",
    ["zip_tie", "random"])`` when every job varies the same keys, else ``("job", labels)``.

    Values carry only what differs, so a table stays readable at 80 columns.
    """
    split = [[o.split("=", 1) for o in job.label.split(",")] for job in jobs]
    keys = [[part[0] for part in parts] for parts in split]
    uniform = all(len(p) == 2 for parts in split for p in parts) and all(k == keys[0] for k in keys)
    if not jobs or not uniform:
        return "job", [job.label for job in jobs]
    return ",".join(keys[0]), [",".join(p[1] for p in parts) for parts in split]


SEED_KEY = "seed"


@dataclass
class Arms:
    """The arms of a sweep: jobs that differ only in ``seed`` are one arm (its spread)."""

    header: str  # what the arm labels name, e.g. ``lora`` (``job`` for mixed keys)
    labels: list[str]  # per job, its arm's label
    seeds: list[str | None]  # per job, its ``seed=`` override (None when not swept)

    def jobs_of(self, jobs: list[Job]) -> dict[str, list[Job]]:
        """Jobs per arm, arms in the order they first appear."""
        grouped: dict[str, list[Job]] = {}
        for job, arm in zip(jobs, self.labels, strict=True):
            grouped.setdefault(arm, []).append(job)
        return grouped


def sweep_arms(jobs: list[Job]) -> Arms:
    """Per job, its arm (what differs between jobs, seed left out) and its seed."""
    header, values = varying_keys(jobs)
    labels, seeds = [], []
    for job, value in zip(jobs, values, strict=True):
        items = [o.split("=", 1) for o in job.label.split(",")]
        seed = next((p[1] for p in items if len(p) == 2 and p[0] == SEED_KEY), None)
        seeds.append(seed)
        if header == "job":
            kept = [o for o in job.label.split(",") if not o.startswith(f"{SEED_KEY}=")]
        else:
            pairs = zip(header.split(","), value.split(","), strict=True)
            kept = [v for k, v in pairs if k != SEED_KEY]
        labels.append(",".join(kept) or "all")
    keys = [k for k in header.split(",") if k != SEED_KEY] if header != "job" else ["job"]
    return Arms(header=",".join(keys) or "arm", labels=labels, seeds=seeds)
