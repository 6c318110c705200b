"""What every Hydra command-line app shares: its own ``--help``, one-line config errors.

Hydra's ``--help`` prints generic text and every config group under ``conf/`` (the train app
listed ``eval``, which it rejects), after importing the whole app. Here ``--help`` is answered
before Hydra or any heavy library loads: the first paragraph of the app's docstring, its usage
lines, and only the groups its primary config's defaults list names, with their options.
Hydra's own help stays at ``--hydra-help``.

A ``ConfigError`` (bad key, value, path or hardware) is printed as one line on stderr with exit
status 2 (``HYDRA_FULL_ERROR=1`` shows the traceback). In a multirun the error is re-raised so
Hydra's launcher records the job as failed and runs the others.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from bailong.cli.conf_dir import conf_dir
from bailong.core.checks import ConfigError

HELP_FLAGS = ("-h", "--help")
CONFIG_ERROR_STATUS = 2
HELP_WIDTH = 88


def config_groups(config_name: str) -> dict[str, list[str]]:
    """The groups an app's primary config selects (its defaults list), with their options."""
    conf = Path(conf_dir())
    primary = yaml.safe_load((conf / f"{config_name}.yaml").read_text(encoding="utf-8"))
    groups: dict[str, list[str]] = {}
    for entry in primary.get("defaults", []):
        if not isinstance(entry, dict):
            continue  # _self_
        for group in entry:
            if group == "hydra":
                continue
            groups[group] = sorted(p.stem for p in (conf / group).glob("*.yaml"))
    launchers = sorted(p.stem for p in (conf / "hydra" / "launcher").glob("*.yaml"))
    if launchers:
        groups["hydra/launcher"] = launchers
    return groups


def app_help(prog: str, doc: str, config_name: str) -> str:
    """``prog --help``: what the app does, how to call it, its config groups and options."""
    summary, _, usage = doc.strip().partition("\n\n")
    summary = textwrap.fill(" ".join(summary.replace("``", "").split()), HELP_WIDTH)
    groups = config_groups(config_name)
    indent = " " * (max(map(len, groups)) + 4)
    lines = [summary, "", "usage:", textwrap.indent(textwrap.dedent(usage).strip("\n"), "  "), ""]
    lines += ["config groups (choose one option each: group=option):"]
    lines += [
        textwrap.fill(
            ", ".join(opts),
            HELP_WIDTH,
            initial_indent=f"  {name}:".ljust(len(indent)),
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        for name, opts in groups.items()
    ]
    lines += [
        "",
        "Any value: key=value (e.g. seed=1); new keys: +key=value; several runs: -m a=1,2.",
        f"The composed config: {prog} [overrides] --cfg job.  Hydra's own help: --hydra-help.",
    ]
    return "\n".join(lines)


def answer_help(prog: str, doc: str, config_name: str) -> None:
    """Print :func:`app_help` and exit when ``--help``/``-h`` is on the command line."""
    if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
        print(app_help(prog, doc, config_name))
        raise SystemExit(0)


@contextmanager
def one_line_config_errors(prog: str) -> Iterator[None]:
    """Turn a ConfigError into ``prog: config error: ...`` and exit status 2 (single runs)."""
    try:
        yield
    except ConfigError as err:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or multirun:
            raise
        print(f"{prog}: config error: {err}", file=sys.stderr)
        raise SystemExit(CONFIG_ERROR_STATUS) from None
