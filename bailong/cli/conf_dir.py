"""Locate the Hydra config directory for the command-line apps.

In a source checkout (the usual way to run experiments) the top-level ``conf/`` next to the
package is used, so edits to YAML files take effect without reinstalling; a wheel carries a
copy as ``bailong/conf``. Importing this module (every app does, before Hydra starts)
registers the resolvers the configs use.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from bailong.core.paths import user_cache_dir
from bailong.core.safe_paths import plain_name
from bailong.core.shared_data import SHARED_NOT_FOUND, shared_data_dir


def _shared_resolver(relative: str) -> str:
    """``${shared:eval/tmmlu/subjects}`` → that path in the shared data folder. When the folder
    is absent the path points nowhere, and validation names it with how to fix it."""
    root = shared_data_dir()
    return str((root if root is not None else Path(SHARED_NOT_FOUND)) / relative)


def _original_tokenizer_resolver(choice: str, cache_dir: str) -> str:
    """``${bailong.original_tokenizer:<choice>,${paths.cache_dir}}`` → the stand-in original
    tokenizer built (once, cached) in ``cache_dir``, or Llama 2's tokenizer.model from the
    shared data (``bailong.tokenizer.standin``: choice standin | auto | llama2). Imported
    here, not at the top: only configs that name it pay for the tokenizer libraries."""
    from bailong.tokenizer.standin import original_tokenizer_file

    return str(original_tokenizer_file(choice, Path(cache_dir).expanduser()))


OmegaConf.register_new_resolver("bailong.plain_name", plain_name, replace=True)
# ${bailong.user_cache:}: conf/paths' cache_dir default, owned by bailong.core.paths
OmegaConf.register_new_resolver("bailong.user_cache", lambda: str(user_cache_dir()), replace=True)
OmegaConf.register_new_resolver("shared", _shared_resolver, replace=True)
OmegaConf.register_new_resolver(
    "bailong.original_tokenizer", _original_tokenizer_resolver, replace=True, use_cache=True
)

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # bailong/


def conf_dir() -> str:
    """Absolute path of the config directory (checkout's ``conf/`` first, packaged copy second)."""
    for candidate in (_PACKAGE_DIR.parent / "conf", _PACKAGE_DIR / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(f"no bailong config directory next to {_PACKAGE_DIR}")
