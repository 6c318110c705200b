"""Check the values of every arm of a sweep before any job runs.

``bailong-train -m lora.r=8,0 seed=1,2,3`` would run the three ``lora.r=8`` jobs (hours, at
scale) and fail each ``lora.r=0`` job in its own directory, one at a time. Here the sweep is
split into its arms as Hydra's basic sweeper splits it (the command line's sweeps and an
experiment's ``hydra.sweeper.params``), each arm's config is composed by Hydra's own loader as
its job's will be, and its values are checked (``bailong.training.validate.value_problems``:
schema, every
stage's checks, the ranges; not the machine or hub lookups, which every job still does). The
bad arms are all named at once, with exit status 2, before Hydra writes anything. It costs a
fraction of a second an arm. Sweeps the basic sweeper does not enumerate (Optuna's
``hparams_search=...``), jobs launched on other machines (``hydra/launcher=slurm``: their files
are there), runs with an extra ``--config-dir``, and command lines Hydra itself refuses are
left to Hydra and to each job's own check.

Hydra has no public call that splits a sweep into its arms; ``BasicSweeper.split_arguments``
(``hydra._internal``) is the one its basic sweeper launches the jobs from, so the arms checked
are the jobs run, where a copy of it could drift. tests/cli/test_hydra_app.py pins it, with the
loader calls used here, on a tiny sweep, and names what changed when a Hydra release moves it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import open_dict

from bailong.cli.conf_dir import conf_dir
from bailong.cli.early_checks import given_config_dirs
from bailong.core.checks import ConfigError
from bailong.training.validate import to_schema, value_problems

MULTIRUN_FLAGS = ("-m", "--multirun")
BASIC_SWEEPER = f"{BasicSweeper.__module__}.{BasicSweeper.__name__}"
# Launchers whose jobs run on this machine, so this machine's files are the jobs' files. Jobs
# sent elsewhere (hydra/launcher=slurm) check themselves where they run.
LOCAL_LAUNCHERS = (
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
)


@dataclass(frozen=True)
class SweepCheck:
    arms: int  # how many jobs the sweep would run
    bad: list[str]  # "<the arm's swept overrides>: <its problems>", one per invalid arm


def command_line(argv: Sequence[str], config_name: str) -> tuple[str, list[str]] | None:
    """``(config name, overrides)`` of a multirun command line whose configs come from the
    app's own config dir; None otherwise."""
    if not any(arg in MULTIRUN_FLAGS for arg in argv) or len(given_config_dirs(argv)) > 1:
        return None  # a single run checks itself; other config dirs are left to the jobs
    overrides: list[str] = []
    args = iter(argv)
    for arg in args:
        flag, sep, value = arg.partition("=")
        if flag in ("--config-path", "-cp"):
            return None  # another primary config dir: left to the jobs
        if flag in ("--config-name", "-cn"):
            config_name = value if sep else next(args, config_name)
        elif not arg.startswith("-"):
            overrides.append(arg)
    return config_name, overrides


def check_sweep(config_name: str, overrides: list[str]) -> SweepCheck | None:
    """Every arm of a basic sweep checked; None when the sweeper is another, the jobs run on
    other machines, or Hydra refuses the command line (it says why itself)."""
    with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        try:
            primary = hydra.compose_config(config_name, overrides, run_mode=RunMode.MULTIRUN)
        except HydraException:
            return None
        sweeper = primary.hydra.sweeper
        local = primary.hydra.launcher.get("_target_") in LOCAL_LAUNCHERS
        if sweeper.get("_target_") != BASIC_SWEEPER or not local:
            return None
        params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
        parsed = OverridesParser.create(config_loader=hydra.config_loader).parse_overrides(
            [*params, *primary.hydra.overrides.task]
        )
        swept = [o.is_sweep_override() for o in parsed]
        arms = [arm for batch in BasicSweeper.split_arguments(parsed, None) for arm in batch]
        bad = []
        for arm in arms:
            try:
                cfg = hydra.config_loader.load_sweep_config(primary, list(arm))
                with open_dict(cfg):
                    del cfg["hydra"]
                    cfg.paths.output_dir = "."  # the job's own run dir, later
                problems = value_problems(to_schema(cfg))
            except (ConfigError, HydraException) as err:
                problems = [str(err).strip()]
            if problems:
                named = " ".join(a for a, s in zip(arm, swept, strict=True) if s)
                bad.append(f"{named}: {'; '.join(problems)}")
    return SweepCheck(len(arms), bad)


def check_sweep_arms(prog: str, config_name: str, argv: Sequence[str]) -> None:
    """Stop a multirun whose arms are not all valid (exit status 2, every bad arm named)."""
    found = command_line(argv, config_name)
    check = check_sweep(*found) if found else None
    if check and check.bad:
        listed = "\n".join(f"  - {line}" for line in check.bad)
        sys.stderr.write(
            f"{prog}: error: {len(check.bad)} of {check.arms} sweep arms are invalid, "
            f"nothing was run:\n{listed}\n"
        )
        raise SystemExit(2)
