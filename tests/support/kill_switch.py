"""``bailong-train`` that sends itself a signal at one exact point, for the resume tests.

    python -m tests.support.kill_switch <SIGNAL>:<point>[:<step>] <bailong-train overrides...>
    python -m tests.support.kill_switch SNAPSHOT:<folder> <bailong-train overrides...>

``SIGNAL`` is KILL or TERM; points (``k`` = a global step, i.e. optimizer steps done):

- ``after_step:k``: once step ``k`` and everything the trainer does after it (checkpoint,
  validation, logging) are done, as the next batch starts; with ``k`` = ``max_steps``, at the
  end of fitting, before the adapter is saved;
- ``validation:k``: during the validation that runs after step ``k``, after its first batch;
- ``adapter_save``: while the adapter is being written, after its weights file.

``SNAPSHOT`` runs to the end, copying the run directory to ``<folder>/<point>_<k>`` at every
such point: what a SIGKILL there leaves on disk (files are written by closed writes and
fsynced renames, nothing is held in a buffer a kill would lose), so one run yields the
killed state of every point, and is the uninterrupted reference too.

Polling the run directory from outside cannot hit these points (a step takes milliseconds),
so the process signals itself. ``SIGKILL`` runs no handler, no ``finally`` and no logger
flush, exactly like the OOM killer or a lost node; ``SIGTERM`` is what a scheduler sends.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
from peft import PeftModel

import bailong.training.run as run_module
from bailong.cli import train as train_cli


class SignalAt(L.Callback):
    def __init__(self, signum: int, point: str, step: int) -> None:
        self.signum, self.point, self.step = signum, point, step
        self.sent = False

    def send(self, trainer: L.Trainer, point: str) -> None:
        if point == self.point and trainer.global_step == self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        self.send(trainer, "after_step")

    def on_train_end(self, trainer: L.Trainer, *args: Any) -> None:
        self.send(trainer, "after_step")

    def on_validation_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.state.fn == "fit":
            self.send(trainer, "validation")


class SnapshotAt(SignalAt):
    """Copies the run directory where ``SignalAt`` would signal, at every step."""

    def __init__(self, run_dir: Path, folder: Path) -> None:
        self.run_dir, self.folder = run_dir, folder

    def send(self, trainer: L.Trainer, point: str) -> None:
        target = self.folder / f"{point}_{trainer.global_step}"
        if trainer.global_step > 0 and not target.exists():
            shutil.copytree(self.run_dir, target)


def signal_during_adapter_save(signum: int) -> None:
    real = PeftModel.save_pretrained

    def save_then_signal(self: PeftModel, *args: Any, **kwargs: Any) -> None:
        real(self, *args, **kwargs)
        os.kill(os.getpid(), signum)

    PeftModel.save_pretrained = save_then_signal  # type: ignore[method-assign]


def install(spec: str) -> None:
    name, point, *step = spec.split(":")
    if name == "SNAPSHOT":
        add_callback(lambda output_dir: SnapshotAt(output_dir, Path(point)))
        return
    signum = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM}[name]
    if point == "adapter_save":
        signal_during_adapter_save(signum)
        return
    add_callback(lambda output_dir: SignalAt(signum, point, int(step[0])))


def add_callback(make: Callable[[Path], L.Callback]) -> None:
    build = run_module.build_callbacks

    def with_extra(cfg: Any, output_dir: Path) -> list[L.Callback]:
        return [*build(cfg, output_dir), make(output_dir)]

    run_module.build_callbacks = with_extra  # type: ignore[assignment]


if __name__ == "__main__":
    install(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    train_cli.main()
