"""The last line of a command: where its outputs went and which files matter.

Printed on stdout and written to the Hydra job's log file (``<run dir>/<task>.log``), so the
log of a finished job says where its results are even when the console output is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

MAX_NAMES = 8


def to_job_log(message: str) -> None:
    """Write ``message`` to the job's log file(s) only (the console gets its own print)."""
    record = logging.LogRecord("bailong", logging.INFO, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def outputs_line(prog: str, directory: Path, names: Iterable[str]) -> str:
    """``prog: outputs in DIR: a, b/, c`` listing the names that exist (directories with /)."""
    present = []
    for name in names:
        path = directory / name
        if path.exists():
            present.append(f"{name}/" if path.is_dir() else name)
    shown = present[:MAX_NAMES] + (
        [f"and {len(present) - MAX_NAMES} more"] if len(present) > MAX_NAMES else []
    )
    listing = f": {', '.join(shown)}" if shown else ""
    return f"{prog}: outputs in {shown_path(directory)}{listing}"


def shown_path(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (as typed), else as is."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def report_outputs(prog: str, directory: Path, names: Iterable[str]) -> str:
    line = outputs_line(prog, directory, names)
    to_job_log(line)
    print(line, flush=True)
    return line
