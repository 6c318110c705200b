"""SIGTERM (a scheduler's "stop now") ends a run with a checkpoint and a non-zero exit status.

Lightning turns SIGTERM into ``SIGTERMException`` at the end of the current batch; that is a
``SystemExit`` without a code, so the process would exit 0 and a scheduler or sweep would
count the stopped run as a success. ``CheckpointOnSigterm`` saves ``last.ckpt`` at that point
(so ``ckpt_path=last`` resumes without losing a step) and ``Terminated`` replaces the exception
with exit status 143 (128 + SIGTERM, what a shell reports for a process killed by SIGTERM).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

EXIT_STATUS = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """The run stopped on SIGTERM; the exit status says so."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(EXIT_STATUS)
        saved = f"saved {checkpoint}; resume with ckpt_path=last" if checkpoint else "no checkpoint"
        self.message = f"stopped by SIGTERM at global step {step} ({saved})"

    def __str__(self) -> str:
        return self.message


class CheckpointOnSigterm(Callback):
    """Save ``<dirpath>/last.ckpt`` when Lightning stops the run for SIGTERM."""

    def __init__(self, dirpath: Path) -> None:
        self.last = dirpath / "last.ckpt"
        self.saved: Path | None = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException) and trainer.state.fn == "fit":
            trainer.save_checkpoint(self.last, weights_only=False)  # the full state: resumable
            self.saved = self.last
            log.warning("SIGTERM at global step %d: saved %s", trainer.global_step, self.last)
