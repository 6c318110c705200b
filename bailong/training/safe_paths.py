"""Paths we write to, derived from config, must stay inside the job's output directory.

A config value like ``logger.csv.name=../../elsewhere`` would otherwise let one sweep job
write over another's results (or anywhere on a shared filesystem).
"""

from __future__ import annotations

from pathlib import Path

from bailong.config import ConfigError


def inside_output_dir(output_dir: Path, relative: str, key: str) -> Path:
    """``output_dir/relative`` resolved, or a ConfigError naming ``key`` if it escapes."""
    root = output_dir.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(f"{key}={relative!r} is invalid: it would write outside {root}")
    return target
