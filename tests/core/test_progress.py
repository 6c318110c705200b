"""Progress reads well in a redirected log: plain lines, rate-limited, never carriage returns."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import TQDMProgressBar

from bailong.core.progress import LineProgress, progress
from bailong.training.callbacks import build_callbacks
from bailong.training.config import CallbacksConfig
from bailong.training.line_progress_bar import LineProgressBar


def test_line_progress_is_rate_limited_but_always_ends(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bailong.progress"):
        bar = LineProgress("rows", 5, every_s=3600)
        for _ in range(5):
            bar.update(1, "zip_tie")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["rows: started (5 to do)", "rows: 5/5 (100%) zip_tie, 0 s"]


def test_every_update_with_time_left(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bailong.progress"):
        bar = LineProgress("windows", 4, every_s=0)
        bar.update(1)
        bar.update(3)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[1].startswith("windows: 1/4 (25%), 0 s, about 0 s left")
    assert lines[2] == "windows: 4/4 (100%), 0 s"
    assert not any("\r" in x for x in lines)


def test_off_a_terminal_progress_is_lines(caplog: pytest.LogCaptureFixture) -> None:
    """pytest captures stderr, as a redirect does: no live bar."""
    with caplog.at_level(logging.INFO, logger="bailong.progress"), progress("probe rows", 2) as p:
        assert isinstance(p, LineProgress)
        p.update(2, "done")
    assert caplog.records[-1].getMessage().startswith("probe rows: 2/2 (100%) done")


def test_training_bar_auto_is_lines_off_a_terminal(tmp_path: Path) -> None:
    bars = [
        c
        for c in build_callbacks(CallbacksConfig(progress_bar="auto"), tmp_path)
        if isinstance(c, (LineProgressBar, TQDMProgressBar))
    ]
    assert [type(b) for b in bars] == [LineProgressBar]
