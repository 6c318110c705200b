"""W&B names for the runs of a sweep: a group per sweep, a run name per arm.

A group was the multirun directory's name alone (its start time), so two sweeps started in
the same second shared a group in project ``bailong``; a run name was every override of the
job, constant ones included (``data.batch_size=4,embedding_init=zip_tie,logger=wandb,...``).
Now the group is ``<task_name>-<sweep dir name>-<6 hex digits>`` (the sweep dir name is its
start time unless ``hydra.sweep.dir`` names it), the digits hashing the sweep directory's
absolute path (not the host: Slurm runs a sweep's jobs on several nodes), so every job of a
sweep computes the same group in its own process and sweeps in different directories do not
share one (two sweeps in one directory share its files, and so its group). The
run name keeps only the overrides of keys the sweep varies: the command line's sweep
overrides and ``hydra.sweeper.params`` (read from ``multirun.yaml``, which Hydra's sweeper
saves in the sweep directory before the first job, and from the job's own Hydra config).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

MULTIRUN_CONFIG = "multirun.yaml"


def sweep_group(task_name: str, sweep_dir: Path) -> str:
    """``ablate_lora_rank_tiny-2026-12-03_06-30-00-1f2e3d``: readable, unique per sweep."""
    digest = hashlib.sha1(str(Path(sweep_dir).resolve()).encode("utf-8")).hexdigest()[:6]
    return f"{task_name}-{Path(sweep_dir).name}-{digest}"


def swept_keys(overrides: Iterable[str]) -> set[str] | None:
    """The keys that ``overrides`` sweep (``lora=r8,r16``, ``seed=range(3)``, ``choice(..)``);
    None when they cannot be parsed (then nothing is claimed about what varies)."""
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return None
    return {o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()}


def sweep_overrides(sweep_dir: Path, sweeper_params: dict | None) -> list[str]:
    """What defined the sweep: ``hydra.sweeper.params`` as ``key=values`` plus the command
    line's overrides saved in ``multirun.yaml`` (absent for sweepers that do not save it)."""
    found = [f"{k}={v}" for k, v in (sweeper_params or {}).items()]
    saved = Path(sweep_dir) / MULTIRUN_CONFIG
    if saved.is_file():
        hydra = (yaml.safe_load(saved.read_text(encoding="utf-8")) or {}).get("hydra") or {}
        found += [f"{k}={v}" for k, v in ((hydra.get("sweeper") or {}).get("params") or {}).items()]
        found += [str(o) for o in (hydra.get("overrides") or {}).get("task") or []]
    return found


def arm_name(job_overrides: list[str], swept: set[str] | None, fallback: str) -> str:
    """The job's overrides of swept keys (all its overrides when ``swept`` is unknown)."""
    if swept is None:
        return ",".join(job_overrides) or fallback
    parsed = OverridesParser.create().parse_overrides(job_overrides)
    kept = [
        line
        for o, line in zip(parsed, job_overrides, strict=True)
        if o.get_key_element().lstrip("+~") in swept
    ]
    return ",".join(kept) or fallback
