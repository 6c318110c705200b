"""The lifecycle of every Hydra job, split by what Hydra's job hooks can see.

``ScrubSavedConfig`` (registered under ``hydra.callbacks`` in ``conf/hydra/default.yaml``, which
every shipped primary config selects) scrubs secrets from the config files Hydra saves for the
job, in ``on_job_start``: Hydra writes ``.hydra/*.yaml`` in ``run_job`` just before that hook,
before any app code runs.

``run_task`` records a failure to ``<output_dir>/FAILED`` before re-raising (so a sweep's
summary can report which jobs failed while the others keep their results), removes it when
the job succeeds (a resumed run that finished is not a failed one) and always closes the W&B
run (so a multirun gives one W&B run per job rather than one merged run). That is not an
``on_job_end`` hook: Hydra calls it only for a job that returned or raised an ``Exception``,
and a job stopped by a ``SystemExit`` (SIGTERM's ``Terminated``, exit status 143; a single
run's one-line config error, exit status 2) or by Ctrl-C skips it, yet needs its ``FAILED``
and its W&B run closed too. It also works the same outside Hydra.

``hydra_context`` derives the run's name and group from Hydra (bailong.training.run_names): in
a sweep, name = the job's overrides of the keys the sweep varies, group = task name + sweep
directory + a short id.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from bailong.core.redact import (
    redact_text,
    scrub_files,
    secret_override_values,
    secret_values,
)
from bailong.core.run_context import RunContext
from bailong.core.run_files import FAILED_MARKER
from bailong.training.run_names import arm_name, sweep_group, sweep_overrides, swept_keys

T = TypeVar("T")


def hydra_context(task_name: str) -> RunContext:
    hc = HydraConfig.get()
    output_dir = Path(hc.runtime.output_dir)
    if hc.mode != RunMode.MULTIRUN:
        run_name = hc.job.override_dirname or task_name
        return RunContext(output_dir=output_dir, run_name=run_name, group=task_name)
    sweep_dir = Path(hc.sweep.dir)
    params: dict | None = None
    if hc.sweeper.get("params"):
        container = OmegaConf.to_container(hc.sweeper.params)
        assert isinstance(container, dict), "a sweeper's params map each key to its values"
        params = container
    swept = swept_keys(sweep_overrides(sweep_dir, params))
    run_name = arm_name(list(hc.overrides.task), swept, f"{task_name}-{hc.job.num}")
    return RunContext(output_dir, run_name=run_name, group=sweep_group(task_name, sweep_dir))


def run_task(job: Callable[[], T], output_dir: Path) -> T:
    """Run ``job``; on failure write the traceback beside its outputs, always finish W&B."""
    try:
        result = job()
    except BaseException:
        output_dir.mkdir(parents=True, exist_ok=True)
        failure = redact_text(traceback.format_exc())  # a URL's password, a token
        (output_dir / FAILED_MARKER).write_text(failure, encoding="utf-8")
        raise
    finally:
        wandb = sys.modules.get("wandb")  # never imported: no run to close (and no 2 s import)
        if wandb is not None and wandb.run is not None:
            wandb.finish()
    (output_dir / FAILED_MARKER).unlink(missing_ok=True)  # a resumed run that now succeeded
    return result


class ScrubSavedConfig(Callback):
    """Redact secrets from the files Hydra saved for a job, before the job's code runs.

    Validation rejects a job whose config holds a literal secret, but by then Hydra has saved
    its config, overrides and ``override_dirname`` to ``<output_dir>/.hydra/``; this removes
    the values from those files, and from a sweep's ``multirun.yaml`` (the composed config,
    saved before the first job). Hydra turns an exception raised here into a warning and runs
    the job, whose validation still refuses the secret.
    """

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        hc = config.hydra
        if hc.output_subdir is None:
            return
        folder = Path(hc.runtime.output_dir) / hc.output_subdir
        secrets = secret_override_values(list(hc.overrides.task))
        saved = folder / "config.yaml"
        if saved.is_file():
            secrets += secret_values(OmegaConf.to_container(OmegaConf.load(saved), resolve=False))
        scrub_files(folder, secrets)
        if hc.mode == RunMode.MULTIRUN:
            scrub_files(Path(hc.sweep.dir), secrets)


def optimized_metric(metrics: dict[str, float], name: str | None) -> float | None:
    """The value an Optuna sweeper minimizes/maximizes; None when no metric is named."""
    if not name:
        return None
    if name not in metrics:
        raise KeyError(f"optimized_metric={name!r} was not logged; logged: {sorted(metrics)}")
    return metrics[name]
