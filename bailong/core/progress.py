"""Progress of the long stages, readable on a terminal and in a redirected log alike.

A live bar (rich's, Lightning's tqdm) redraws one line with carriage returns: on a terminal
that is what a user wants, but redirected to a file it is one growing wall of bar states (a
training log) or nothing at all until the end (rich prints no live display to a file). So
every long stage reports through here: on a terminal, rich's bar; otherwise one plain log
line per update, at most every ``every_s`` seconds (and always the last), saying how far,
how long and about how long is left. Training uses the same lines through
``bailong.training.line_progress_bar`` (``callbacks.progress_bar=auto``, the default, picks
it when stderr is not a terminal). Lines go to the ``bailong.core.progress`` logger, so a Hydra
app writes them to its log file too.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("bailong.progress")
EVERY_S = 10.0  # seconds between two plain lines of one stage


def on_terminal() -> bool:
    """Whether a live bar can be drawn: stderr (where bars and logs go) is a terminal."""
    return sys.stderr.isatty()


def library_bars_off_when_redirected() -> None:
    """Turn off the libraries' own live bars (transformers' "Loading weights", the hub's
    downloads, datasets' maps) when stderr is not a terminal; call before importing them."""
    if not on_terminal():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers reads it too
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class LineProgress:
    """One log line per update, rate-limited: ``<what>: 3/15 (20%) <note>, 42 s, about 2 min left``
    (a line is skipped when the last one is under ``every_s`` old, except the final one)."""

    def __init__(self, what: str, total: int | None, every_s: float = EVERY_S) -> None:
        self.what, self.total, self.every_s = what, total, every_s
        self.done = 0
        self.started = self.last = time.monotonic()
        log.info("%s: started%s", what, f" ({total} to do)" if total else "")

    def update(self, advance: int = 1, note: str = "") -> None:
        self.done += advance
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if now - self.last < self.every_s and not finished:
            return
        self.last = now
        elapsed = now - self.started
        where = (
            f"{self.done}/{self.total} ({100 * self.done / self.total:.0f}%)"
            if self.total
            else str(self.done)
        )
        left = ""
        if self.total and 0 < self.done < self.total:
            left = f", about {_duration(elapsed * (self.total - self.done) / self.done)} left"
        log.info(
            "%s: %s%s, %s%s", self.what, where, f" {note}" if note else "", _duration(elapsed), left
        )


class _RichProgress:
    """The same interface over rich's live bar (terminals only)."""

    def __init__(self, bar: Any, what: str, total: int | None) -> None:
        self.bar, self.task = bar, bar.add_task(what, total=total, note="")

    def update(self, advance: int = 1, note: str = "") -> None:
        self.bar.update(self.task, advance=advance, note=note)


@contextmanager
def progress(what: str, total: int | None) -> Iterator[LineProgress | _RichProgress]:
    """A progress reporter for ``total`` steps of ``what``: ``.update(advance, note)``."""
    if not on_terminal():
        yield LineProgress(what, total)
        return
    from rich.progress import Progress, TextColumn

    with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[note]}")) as bar:
        yield _RichProgress(bar, what, total)


@contextmanager
def stage(what: str) -> Iterator[None]:
    """A step that reports no progress of its own (one library call): a line when it starts and
    one with its duration when it ends, so a log never sits silent without saying why."""
    started = time.monotonic()
    log.info("%s ...", what)
    yield
    log.info("%s: done in %s", what, _duration(time.monotonic() - started))
