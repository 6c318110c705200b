"""What every Hydra command-line app shares: ``hydra_app`` builds its ``main()`` around the
app's job function ``job(cfg, run_dir)``.

* ``--help`` is answered before Hydra starts or any heavy library loads: the first paragraph
  of the app's docstring, its usage lines, and only the groups its primary config's defaults
  list names, with their options (Hydra's own ``--help`` prints generic text and every config
  group under ``conf/``, after importing the whole app); Hydra's stays at ``--hydra-help``.
* The command line (bailong.cli.early_checks) and, for the train config, every arm of a sweep
  (bailong.cli.sweep_arms) are checked before Hydra starts: it would write the command line to
  disk and stop a sweep at its first bad arm.
* The job runs through ``run_task`` (``FAILED``, W&B; bailong.training.task), after the
  callback in ``conf/hydra/default.yaml`` scrubbed the config files Hydra saved.
* A ``ConfigError`` (bad key, value, path or hardware) is printed as one line on stderr with
  exit status 2 (``HYDRA_FULL_ERROR=1`` shows the traceback). In a multirun it is re-raised so
  Hydra's launcher records the job as failed and runs the others.
"""

from __future__ import annotations

import functools
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import check_command_line
from bailong.cli.sweep_arms import check_sweep_arms
from bailong.core.checks import ConfigError
from bailong.training.task import run_task

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


def hydra_app(
    prog: str,
    doc: str,
    config_name: str,
    job: Callable[[DictConfig, Path], Any],
    *,
    check_arms: bool = False,
) -> Callable[[], None]:
    """The ``main()`` of the Hydra app ``prog`` that runs ``job(cfg, run_dir)`` on the config
    ``config_name``; ``check_arms`` checks a sweep's arms against the train config's values."""

    @hydra.main(version_base="1.3", config_path=conf_dir(), config_name=config_name)
    @functools.wraps(job)  # Hydra names the job and its log (train.log) after job's module
    def task(cfg: DictConfig) -> Any:
        hc = HydraConfig.get()
        output_dir = Path(hc.runtime.output_dir)
        try:
            return run_task(lambda: job(cfg, output_dir), output_dir)
        except ConfigError as err:
            if hc.mode == RunMode.MULTIRUN or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print(f"{prog}: config error: {err}", file=sys.stderr)
            raise SystemExit(CONFIG_ERROR_STATUS) from None

    def main() -> None:
        if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
            print(app_help(prog, doc, config_name))
            raise SystemExit(0)
        check_command_line(prog, sys.argv[1:])
        if check_arms:
            check_sweep_arms(prog, config_name, sys.argv[1:])
        task()

    return main
