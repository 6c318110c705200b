"""Lightning's progress as plain log lines, for runs whose output goes to a file.

Lightning's tqdm bar redraws with carriage returns: in a redirected log that is one line
thousands of bar states long. This bar writes ``bailong.core.progress.LineProgress`` lines
instead (``callbacks.progress_bar=lines``; ``auto``, the default, picks it off a terminal).
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import ProgressBar

from bailong.core.progress import EVERY_S, LineProgress, log


class LineProgressBar(ProgressBar):
    """Lightning's progress as plain lines: every ``every_s`` seconds (and at the last step) the
    step, the logged metrics and the time left; one line per validation pass."""

    def __init__(self, every_s: float = EVERY_S) -> None:
        super().__init__()
        self.every_s = every_s
        self._enabled = True
        self._lines: LineProgress | None = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        if self._enabled:
            self._lines = LineProgress("training steps", total, self.every_s)
            self._lines.done = trainer.global_step  # a resumed run starts where it stopped

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        if self._lines is None or trainer.global_step == self._lines.done:
            return  # gradient accumulation: no optimizer step yet
        self._lines.update(trainer.global_step - self._lines.done, self._metrics(trainer, "train/"))

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if self._enabled and not trainer.sanity_checking:
            log.info(
                "validation at step %d: %s", trainer.global_step, self._metrics(trainer, "val/")
            )

    @staticmethod
    def _metrics(trainer: Any, prefix: str) -> str:
        shown = {k: v for k, v in trainer.callback_metrics.items() if k.startswith(prefix)}
        return " ".join(f"{k}={_number(float(v))}" for k, v in sorted(shown.items()))


def _number(value: float) -> str:
    """Counts in full (``tokens_seen=25600``), the rest to 4 significant digits."""
    return str(int(value)) if value.is_integer() and abs(value) >= 1 else f"{value:.4g}"
