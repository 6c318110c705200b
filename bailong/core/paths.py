"""Where bailong keeps its files on this machine, and whether a name is a path or a hub id.

One place owns both, because the loaders, the config checks and the preflight must agree: a
name one of them calls local and another sends to the hub fails twice, differently. A leaf:
it imports nothing of bailong, so any stage and any config check can use it.

The cache (sample tokenizers, random bases, token stores) is ``$BAILONG_CACHE``, else
``~/.cache/bailong``; ``conf/paths/default.yaml`` reads it through the ``bailong.user_cache``
resolver, and a run's ``paths.cache_dir`` overrides it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CACHE_ENV = "BAILONG_CACHE"
DEFAULT_CACHE_DIR = "~/.cache/bailong"


def user_cache_dir() -> Path:
    """The user's own cache: ``$BAILONG_CACHE``, else ``~/.cache/bailong``.

    What a run record's base is built in: never a directory a copied record names.
    """
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR).expanduser()


def run_cache_dir(paths: Mapping[str, Any]) -> Path:
    """A run's cache: its ``paths.cache_dir`` (the configs set it), else the user's own."""
    configured = paths.get("cache_dir")
    return Path(str(configured)).expanduser() if configured else user_cache_dir()


def looks_local(name: str) -> bool:
    """A filesystem path rather than a hub id (``org/name``, or a bare ``name``).

    Local: a name that exists on disk (``from_pretrained`` loads it from there too); what no
    hub id can be: starting with ``/``, ``~`` or ``.`` (``./``, ``../``; a hub name never starts
    with a dot), holding a backslash, ending in ``/``, or with more than one ``/``; and
    ``org/name`` whose ``org`` is a local directory (an earlier export wrote there).
    """
    if Path(name).expanduser().exists():
        return True
    if name.startswith(("/", "~", ".")) or "\\" in name or name.endswith("/"):
        return True
    parts = name.split("/")
    return len(parts) > 2 or (len(parts) == 2 and Path(parts[0]).is_dir())
