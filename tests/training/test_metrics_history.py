"""A resumed run keeps its whole metrics history, even when killed again while starting up."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pytest
from lightning.fabric.loggers.csv_logs import _ExperimentWriter

from bailong.training.loggers import build_csv_logger

EARLIER = "step,train/loss,val/loss\n0,,7.25\n0,7.5,\n1,6.75,\n"


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs."""


def rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "csv" / "metrics.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("kill", ["after opening the logger", "while writing the merged file"])
def test_a_second_kill_during_resume_start_up_keeps_the_step0_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill: str
) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "metrics.csv").write_text(EARLIER, encoding="utf-8")

    def killed_mid_write(writer: _ExperimentWriter) -> None:
        with open(writer.metrics_file_path, "w", encoding="utf-8") as handle:
            handle.write("step,tra")
        raise Killed

    with monkeypatch.context() as patch:
        if kill == "while writing the merged file":
            patch.setattr(_ExperimentWriter, "save", killed_mid_write)
        with contextlib.suppress(Killed):  # killed: nothing after this start-up runs
            build_csv_logger(tmp_path, "csv", resuming=True)
    logger = build_csv_logger(tmp_path, "csv", resuming=True)
    logger.log_metrics({"train/loss": 6.5}, step=2)
    logger.save()
    saved = rows(tmp_path)
    assert [r["val/loss"] for r in saved if r["step"] == "0" and r["val/loss"]] == ["7.25"]
    assert [(r["step"], r["train/loss"]) for r in saved if r["train/loss"]] == [
        ("0", "7.5"),
        ("1", "6.75"),
        ("2", "6.5"),
    ]
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["metrics.csv"]
