"""SIGTERM (a scheduler's "stop now") ends a run at a step boundary, with a checkpoint and a
non-zero exit status.

Lightning turns SIGTERM into ``SIGTERMException`` at the end of the current batch, or after
the current validation batch, or, on an epoch's last batch, after the epoch's end; that is a
``SystemExit`` without a code, so the process would exit 0 and a scheduler or sweep would
count the stopped run as a success. Saved where Lightning raises, a checkpoint could hold a
half-done validation (its ``val/loss`` row then lost) or an epoch already closed (the resumed
run then went on one epoch late). ``CheckpointOnSigterm`` instead saves ``last.ckpt`` where the
step ends (``bailong.training.step_boundary``): after the batch, or after the validation that
follows it, which it lets finish. ``Terminated`` replaces the exception with exit status 143
(128 + SIGTERM, what a shell reports for a process killed by SIGTERM).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

from bailong.training.step_boundary import validation_follows

log = logging.getLogger(__name__)

EXIT_STATUS = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """The run stopped on SIGTERM; the exit status says so."""

    def __init__(self, step: int, checkpoint: Path | None, what: str | None = None) -> None:
        super().__init__(EXIT_STATUS)
        saved = f"saved {checkpoint}; resume with ckpt_path=last" if checkpoint else "no checkpoint"
        self.message = what or f"stopped by SIGTERM at global step {step} ({saved})"

    def __str__(self) -> str:
        return self.message


class CheckpointOnSigterm(Callback):
    """Save ``<dirpath>/last.ckpt`` where the step during which SIGTERM came ends.

    While a validation runs during fitting, Lightning's SIGTERM flag is held back (it would
    stop the validation after its current batch) and set again when the validation ends.
    """

    def __init__(self, dirpath: Path) -> None:
        self.last = dirpath / "last.ckpt"
        self.saved: Path | None = None
        self.saved_step: int | None = None
        self.held = False

    def save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.last, weights_only=False)  # the full state: resumable
        self.saved, self.saved_step = self.last, trainer.global_step
        log.warning("SIGTERM at global step %d: saved %s", trainer.global_step, self.last)

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.received_sigterm and not validation_follows(trainer):
            self.save(trainer)

    def on_validation_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.state.fn == "fit" and trainer.received_sigterm:
            trainer._signal_connector.received_sigterm = False  # finish this validation first
            self.held = True

    def on_validation_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.state.fn != "fit":
            return
        if self.held:
            trainer._signal_connector.received_sigterm = True
            self.held = False
        if trainer.received_sigterm:
            self.save(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        stopped = isinstance(exception, SIGTERMException) and trainer.state.fn == "fit"
        if not stopped or self.saved_step == trainer.global_step:
            return
        if not trainer.fit_loop.epoch_loop._is_training_done:
            # SIGTERM came after this hook's batch end: Lightning stops between two batches
            # of an epoch, a state it resumes from exactly
            self.save(trainer)
        else:
            # the epoch was already closed (its last batch): the last checkpoint taken stays
            self.saved = None


@contextlib.contextmanager
def sigterm_deferred() -> Iterator[list[int]]:
    """Run the block to its end even when SIGTERM comes; the list says whether it came.

    For the writes after training (the adapter): outside ``Trainer.fit`` nobody handles
    SIGTERM, and the process would die with a half-written adapter and no ``FAILED``.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # signals go to main only
        yield received
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)
