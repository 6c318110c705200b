"""A progress bar for initializers that fit something (minutes, not seconds).

On a terminal it is a rich bar. Redirected to a log file (cluster jobs, sweeps) a live bar
writes nothing until it ends (rich) or one carriage-return line per update (tqdm), so there it
prints one plain line at every tenth of the work instead: the log stays readable and still
shows how far the fit got and how the objective moves.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, TextColumn

LOG_LINES = 10  # lines a redirected log gets per fit


@contextmanager
def fit_progress(description: str, total: int) -> Iterator:
    """Yields ``advance(note)``: one unit of work done; ``note`` (e.g. the loss) is shown."""
    if sys.stderr.isatty():
        with Progress(*Progress.get_default_columns(), TextColumn("{task.fields[note]}")) as bar:
            task = bar.add_task(description, total=total, note="")
            yield lambda note="": bar.update(task, advance=1, note=note)
        return
    start, done = time.perf_counter(), 0

    def advance(note: str = "") -> None:
        nonlocal done
        done += 1
        if done * LOG_LINES // total > (done - 1) * LOG_LINES // total:  # each tenth
            seconds = time.perf_counter() - start
            print(f"{description}: {done}/{total} {note} ({seconds:.0f} s)", file=sys.stderr)
            sys.stderr.flush()

    yield advance
