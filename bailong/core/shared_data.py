"""The one setting that locates the real public data kept beside the project (``shared/data``).

Tests, benchmarks and experiments read third-party corpora, the Llama 2 tokenizer and
evaluation sets from there, never from copies inside the repo. ``BAILONG_SHARED_DATA`` wins;
otherwise ``../shared/data`` beside the checkout (or the working directory) is used when present.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "BAILONG_SHARED_DATA"
SHARED_NOT_FOUND = "<shared data not found>"  # what ${shared:...} points into when it is absent


def shared_data_dir() -> Path | None:
    """The shared data folder, or None when it is not available on this machine."""
    if env := os.environ.get(ENV_VAR):
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    checkout = Path(__file__).resolve().parents[2]
    for base in (checkout, Path.cwd()):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


def shared_path(relative: str) -> Path | None:
    """A file or folder under the shared data folder, or None when it (or the folder) is absent."""
    root = shared_data_dir()
    if root is None:
        return None
    path = root / relative
    return path if path.exists() else None
