"""Discover the jobs of a Hydra run or multirun directory and read their metrics.

A job is a directory holding ``.hydra/overrides.yaml``. Its label is its overrides minus
those every job shares, so a 2×2 sweep plots as ``embedding_init=zip_tie,lora=r8`` etc.
Metrics come from the CSV logger (``csv/metrics.csv``), else from the job's offline W&B run
(``logger=wandb`` alone writes no CSV); a ``FAILED`` marker (written by the
task wrapper) flags jobs that raised, so a comparison reports them instead of hiding them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from bailong.analysis.wandb_offline import offline_run_file, read_history
from bailong.training.markers import FAILED_MARKER

METRICS_CSV = Path("csv") / "metrics.csv"


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
        """The job's logged metrics, one row per step; None when none were written.

        A resumed run re-logs the steps between its checkpoint and the kill; per step and
        metric the last value logged wins, which is the resumed run's.
        """
        path = self.path / METRICS_CSV
        if path.is_file() and path.stat().st_size > 0:
            rows = pd.read_csv(path)
        elif (run_file := offline_run_file(self.path)) is not None:
            rows = read_history(run_file)
        else:
            return None
        if rows.empty:
            return None
        return rows.groupby("step", as_index=False, sort=True).last()


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
