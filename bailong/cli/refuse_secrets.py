"""Refuse a secret on a Hydra app's command line before Hydra writes anything.

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

from bailong.training.redact import looks_secret, secret_values


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


def refuse_secret_arguments(main: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a ``@hydra.main`` function: check the command line before Hydra sees it."""

    @functools.wraps(main)
    def checked(*args: Any, **kwargs: Any) -> Any:
        keys = secret_override_keys(sys.argv[1:])
        if keys:
            app = Path(sys.argv[0]).name
            listed = ", ".join(f"{key}=<hidden>" for key in keys)
            sys.stderr.write(
                f"{app}: error: {listed} looks like a secret given on the command line; Hydra "
                "would save it in the run's .hydra/ files and logs, so set it in an environment "
                f"variable and give that variable's name in a key ending in _env instead "
                f"(e.g. {keys[0]}_env=MY_VARIABLE)\n"
            )
            raise SystemExit(2)
        return main(*args, **kwargs)

    return checked
