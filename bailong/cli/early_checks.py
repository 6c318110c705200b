"""Check a Hydra app's command line before Hydra writes anything.

Three things are refused there, with a one-line message and exit status 2:

* a secret (below), which Hydra would copy to disk;
* a ``task_name`` that is not a plain folder name (``task_name=../../x`` would move the run
  directory out of ``paths.log_dir``; the ``bailong.plain_name`` resolver in
  ``conf/hydra/default.yaml`` stops a config file's ``task_name`` too, less politely);
* a config-group option that does not exist, in any arm of a sweep: Hydra would stop the
  whole sweep at the first one, so ``-m lora=r8,r7,r16,r33`` names ``r7`` and ``r33`` at once.

Hydra copies the command line into ``.hydra/overrides.yaml`` and ``hydra.yaml`` before the job
starts, into a sweep's ``multirun.yaml`` before any job, and into its "Error executing job
with overrides" log line after a job fails. Scrubbing those files afterwards misses some of
them, so the apps (bailong.cli.hydra_app) check the command line first: an override whose
key looks like a credential (``+paths.hfToken=...``, ``hydra.job.env_set.WANDB_API_KEY=...``,
a ``{authToken: ...}`` value), or whose value has a secret's shape
(``judge.base_url=http://user:PASS@host/v1``, a ``hf_…`` token; ``bailong.core.redact``),
stops the app with exit status 2 and a message that names the key, not the value.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException

from bailong.cli.conf_dir import conf_dir
from bailong.core.checks import ConfigError
from bailong.core.redact import looks_secret, secret_shaped, secret_values
from bailong.core.safe_paths import plain_name


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
            key, _, raw = text.partition("=")
            if looks_secret(key.rsplit(".", 1)[-1]) or secret_shaped(raw):
                found.append(key.lstrip("+~"))
            continue
        key = override.key_or_group
        value: object = None if override.is_delete() else override.value()
        if override.is_sweep_override():  # a,b,c: every arm's value
            value = list(override.sweep_string_iterator())
        named = looks_secret(key.rsplit(".", 1)[-1]) and value not in (None, "")
        if named or secret_values(value) or secret_shaped(text.partition("=")[2]):
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


def given_config_dirs(argv: Sequence[str]) -> list[Path]:
    """The app's config directory and any ``--config-dir``/``-cd`` given on the command line."""
    dirs = [Path(conf_dir())]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]).expanduser())
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.partition("=")[2]).expanduser())
    return dirs


def unknown_group_options(overrides: Sequence[str], config_dirs: Sequence[Path]) -> list[str]:
    """Every ``group=option`` (each arm of a sweep too) naming no ``<group>/<option>.yaml``."""
    parser = OverridesParser.create()
    bad = []
    for text in overrides:
        if text.startswith("-") or "=" not in text:
            continue
        try:
            override = parser.parse_override(text)
            group = override.key_or_group
            folders = [d / group for d in config_dirs if (d / group).is_dir()]
            if not folders or group.startswith("hydra") or override.is_delete():
                continue
            sweep = override.is_sweep_override()
            options = list(override.sweep_string_iterator()) if sweep else [override.value()]
        except HydraException:  # malformed, or a range sweep: Hydra reports those itself
            continue
        known = sorted({p.stem for folder in folders for p in folder.glob("*.yaml")})
        for option in options:
            if isinstance(option, str) and option != "null" and option not in known:
                bad.append(f"{group}={option} (known: {', '.join(known)})")
    return bad


def check_command_line(prog: str, argv: Sequence[str]) -> None:
    """Stop the app (exit status 2, one message) on a secret, a bad ``task_name`` or an
    unknown group option in ``argv``, before Hydra sees it."""
    keys = secret_override_keys(argv)
    if keys:
        listed = ", ".join(f"{key}=<hidden>" for key in keys)
        sys.stderr.write(
            f"{prog}: error: {listed} looks like a secret given on the command line; Hydra "
            "would save it in the run's .hydra/ files and logs, so set it in an environment "
            f"variable and give that variable's name in a key ending in _env instead "
            f"(e.g. {keys[0]}_env=MY_VARIABLE; a URL goes without its user:password@, the "
            "credential through such a variable, e.g. judge.api_key_env)\n"
        )
        raise SystemExit(2)
    problem = task_name_problem(argv)
    if problem:
        sys.stderr.write(f"{prog}: error: {problem}\n")
        raise SystemExit(2)
    unknown = unknown_group_options(argv, given_config_dirs(argv))
    if unknown:
        sys.stderr.write(f"{prog}: error: no such config option, nothing was run: {unknown}\n")
        raise SystemExit(2)
