"""Check a Hydra app's command line before Hydra writes anything.

Two things are refused there, with a one-line message and exit status 2:

* a secret (below), which Hydra would copy to disk;
* a ``task_name`` that is not a plain folder name (``task_name=../../x`` would move the run
  directory out of ``paths.log_dir``; the ``bailong.plain_name`` resolver in
  ``conf/hydra/default.yaml`` stops a config file's ``task_name`` too, less politely).

Hydra copies the command line into ``.hydra/overrides.yaml`` and ``hydra.yaml`` before the job
starts, into a sweep's ``multirun.yaml`` before any job, and into its "Error executing job
with overrides" log line after a job fails. Scrubbing those files afterwards misses some of
them, so the apps check ``sys.argv`` first: an override whose key looks like a credential
(``+paths.hfToken=...``, ``hydra.job.env_set.WANDB_API_KEY=...``, a ``{authToken: ...}``
value) stops the app with exit status 2 and a message that names the key, not the value.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from bailong.config import ConfigError
from bailong.training.redact import looks_secret, secret_values
from bailong.training.safe_paths import plain_name


def secret_override_keys(overrides: Sequence[str]) -> list[str]:
    """The keys of the overrides in ``overrides`` that carry a credential."""
    parser = OverridesParser.create()
    found = []
    for text in overrides:
        if text.startswith("-") or "=" not in text:
            continue  # Hydra's own flags (-m, --config-dir DIR) and their values
        try:
            override = parser.parse_override(text)
        except HydraException:  # malformed: Hydra reports it; the key alone still counts
            if looks_secret(text.partition("=")[0].rsplit(".", 1)[-1]):
                found.append(text.partition("=")[0].lstrip("+~"))
            continue
        key = override.key_or_group
        value = None if override.is_delete() else override.value()
        named = looks_secret(key.rsplit(".", 1)[-1]) and value not in (None, "")
        if named or (isinstance(value, (dict, list)) and secret_values(value)):
            found.append(key)
    return found


def task_name_problem(overrides: Sequence[str]) -> str | None:
    """The error for a ``task_name=...`` override that is not a plain folder name, if any."""
    for text in overrides:
        key, sep, value = text.partition("=")
        if sep and key.lstrip("+~") == "task_name":
            try:
                plain_name(value)
            except ConfigError as err:
                return str(err)
    return None


def check_command_line(main: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a ``@hydra.main`` function: check the command line before Hydra sees it."""

    @functools.wraps(main)
    def checked(*args: Any, **kwargs: Any) -> Any:
        app = Path(sys.argv[0]).name
        keys = secret_override_keys(sys.argv[1:])
        if keys:
            listed = ", ".join(f"{key}=<hidden>" for key in keys)
            sys.stderr.write(
                f"{app}: error: {listed} looks like a secret given on the command line; Hydra "
                "would save it in the run's .hydra/ files and logs, so set it in an environment "
                f"variable and give that variable's name in a key ending in _env instead "
                f"(e.g. {keys[0]}_env=MY_VARIABLE)\n"
            )
            raise SystemExit(2)
        problem = task_name_problem(sys.argv[1:])
        if problem:
            sys.stderr.write(f"{app}: error: {problem}\n")
            raise SystemExit(2)
        return main(*args, **kwargs)

    return checked
