"""Paths we write to, derived from config, must stay inside the job's output directory.

A config value like ``logger.csv.name=../../elsewhere`` would otherwise let one sweep job
write over another's results (or anywhere on a shared filesystem). ``stays_inside`` is the
early, lexical check config validation runs before anything loads; ``inside_output_dir`` is
the check at write time, on the resolved path (symlinks included). ``plain_name`` guards the
names Hydra builds run directories from (``logs/<task_name>/runs/...``): it runs as the
``bailong.plain_name`` resolver while Hydra computes the run directory, before it creates it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from bailong.core.checks import ConfigError

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


def plain_name(value: str, key: str = "task_name") -> str:
    """``value`` when it is one plain folder name (no ``/``, no ``..``), else a ConfigError."""
    if not PLAIN_NAME.fullmatch(str(value)):
        raise ConfigError(
            f"{key}={value!r} is invalid: it names a folder under paths.log_dir, so use letters, "
            "digits, '_', '-' and '.' only (no '/', no leading '.')"
        )
    return str(value)


def stays_inside(relative: str) -> bool:
    """True for a relative path with no ``..`` part (it cannot leave the folder it joins)."""
    path = PurePath(relative)
    return not path.is_absolute() and ".." not in path.parts


def inside_output_dir(output_dir: Path, relative: str, key: str) -> Path:
    """``output_dir/relative`` resolved, or a ConfigError naming ``key`` if it escapes."""
    root = output_dir.resolve()
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(f"{key}={relative!r} is invalid: it would write outside {root}")
    return target
