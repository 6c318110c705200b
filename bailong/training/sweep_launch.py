"""Refuse a multi-process run inside a ``-m`` sweep when Lightning would re-launch the sweep.

On one machine Lightning starts the extra ranks of a ``ddp``/``fsdp`` run by re-running the
process's command line. Inside a ``-m`` sweep that command line is the whole sweep (and under
``hydra/launcher=local_parallel`` it is submitit's job runner), so each extra rank would run
every job again in a new sweep dir and pair up with the wrong jobs of rank 0. Ranks that the
cluster starts (Slurm tasks through ``hydra/launcher=slurm_ddp``, torchrun) are not re-launched
and are fine; so are single runs (no ``-m``) and ``*_spawn`` strategies.
"""

from __future__ import annotations

import os
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

from bailong.core.checks import ConfigError


def process_count(trainer: dict[str, Any]) -> int:
    """How many processes the Trainer arguments ask for on this machine and others."""
    devices = trainer.get("devices", "auto")
    if isinstance(devices, list | tuple):
        count = len(devices)
    elif str(devices) in ("auto", "-1"):
        if str(trainer.get("accelerator", "auto")) == "cpu":
            count = 1
        else:
            import torch

            count = max(torch.cuda.device_count(), 1)
    else:
        count = int(devices)
    return count * int(trainer.get("num_nodes", 1))


def ranks_started_outside() -> bool:
    """True when a cluster or launcher (Slurm tasks, torchrun, Lightning) started this rank."""
    external = SLURMEnvironment.detect() or TorchElasticEnvironment.detect()
    return external or "LOCAL_RANK" in os.environ


def check_sweep_launch(trainer: dict[str, Any]) -> None:
    """Raise a ConfigError for a sweep job whose extra ranks Lightning would start itself."""
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return
    strategy = str(trainer.get("strategy", "auto"))
    if any(word in strategy for word in ("spawn", "fork", "notebook")):
        return
    if process_count(trainer) > 1 and not ranks_started_outside():
        raise ConfigError(
            f"trainer.strategy={strategy} with {process_count(trainer)} processes inside a -m "
            "sweep: Lightning would start the extra ranks by re-running the whole sweep. Run "
            "each multi-GPU job as its own command (no -m), or let Slurm start the ranks "
            "(hydra/launcher=slurm_ddp)"
        )
