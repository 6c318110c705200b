"""Where a job writes and how its runs are named: a plain record, importable without the
training stack (the CLI builds it before deciding to load lightning/transformers)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunContext:
    """Where a job writes and how its runs are named/grouped in the loggers."""

    output_dir: Path
    run_name: str = "train"
    group: str = "train"
