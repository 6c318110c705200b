"""Shared bits of the benchmark scripts: machine description, interleaved timing, tables.

Benchmarks here run on noisy shared machines, so each one times its two contenders side by
side in one process (alternating, several repeats) and reports the ratio of medians; the
absolute figures are context only. Every script prints a markdown table and writes it, with
the date and machine, to ``experiments/benchmarks/results/<name>.md``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    desc = f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}"
    if torch.cuda.is_available():
        desc += f", GPU {torch.cuda.get_device_name(0)}"
    return desc


def train_config(work: Path, overrides: list[str]) -> Any:
    """The train config as ``bailong-train`` composes it, with every path under ``work``."""
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from bailong.cli.conf_dir import conf_dir
    from bailong.training.validate import validate_train_config

    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = cfg.paths.log_dir = str(work)
        cfg.paths.cache_dir = str(work / "cache")
    return validate_train_config(cfg)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def interleaved(contenders: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each contender once per repeat, alternating the order; each returns its measure.

    Alternating (A B, B A, ...) keeps slow drifts of a shared machine from favouring one side.
    """
    results: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for i in range(repeats):
        for name in names if i % 2 == 0 else reversed(names):
            results[name].append(contenders[name]())
    return results


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(name: str, title: str, table: str, notes: list[str] = ()) -> Path:
    """Print ``table`` (markdown) and write it with date and machine to results/<name>.md."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join(
        [f"## {title}", "", f"{stamp}; {machine()}", "", table, "", *(f"- {n}" for n in notes)]
    )
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.md"
    out.write_text(text.rstrip() + "\n", encoding="utf-8")
    return out
