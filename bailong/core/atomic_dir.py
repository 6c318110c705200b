"""Write a directory so that it appears complete or not at all (the trained adapter/model).

``save_pretrained`` writes file after file into the target; a run stopped midway left an
empty or half-written ``adapter/`` that ``bailong-eval`` would try to load. Here the files go
to a temporary sibling first, which is renamed to the target when complete (a rename within
one filesystem is atomic). A target from an earlier run is replaced only then; a kill
between the two renames leaves it under ``.<name>.old``, which the next job puts back (and
removes the temporary folders of writes that were killed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"
OLD_SUFFIX = ".old"


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yields a temporary folder to fill; it becomes ``target`` when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=TMP_SUFFIX))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}{OLD_SUFFIX}")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_partial_directories(parent: Path, name: str) -> list[Path]:
    """Delete what killed ``atomic_directory`` writes of ``parent/name`` left behind."""
    if not parent.is_dir():
        return []
    leftovers = sorted(parent.glob(f".{name}.*{TMP_SUFFIX}"))
    old = parent / f".{name}{OLD_SUFFIX}"
    if old.is_dir() and not (parent / name).exists():
        os.replace(old, parent / name)  # killed between the renames: the earlier one is whole
    elif old.is_dir():
        leftovers.append(old)
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return leftovers
