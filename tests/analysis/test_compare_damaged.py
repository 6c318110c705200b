"""bailong-compare reports damaged metrics files instead of crashing or calling them ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from bailong.analysis.compare import summarize
from bailong.analysis.runs import find_jobs
from bailong.cli.compare import main as compare_main

GOOD = "step,train/loss,train/tokens_seen\n0,7.5,100\n1,7.25,200\n2,7.0,300\n"
CONTENTS = {
    "good": GOOD.encode(),
    "truncated": GOOD.encode()[:-6],  # the last row cut off mid-line
    "garbage": bytes(range(256)) * 8,
}


def sweep(root: Path) -> Path:
    for job, (name, content) in enumerate(CONTENTS.items()):
        folder = root / str(job)
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text(f"- +case={name}\n", "utf-8")
        (folder / "csv").mkdir()
        (folder / "csv" / "metrics.csv").write_bytes(content)
    return root


def test_damaged_metrics_are_reported_not_crashed_on_or_called_ok(tmp_path: Path) -> None:
    table = summarize(find_jobs(sweep(tmp_path)), tokens=float("inf"), threshold=None)
    assert list(table["status"]) == ["ok", "damaged metrics", "damaged metrics"]
    assert list(table["first_train_loss"])[:2] == [7.5, 7.5]
    assert list(table["loss_at_end_tokens"])[:2] == [7.0, 7.25], "complete rows are still used"
    errors = list(table["error"].fillna(""))
    assert errors[0] == "" and "truncated" in errors[1] and "unreadable" in errors[2]


def test_compare_cli_finishes_and_names_the_damaged_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compare_main([str(sweep(tmp_path))])
    out = capsys.readouterr().out
    assert f"{tmp_path / '1' / 'csv' / 'metrics.csv'} is truncated" in out
    assert f"{tmp_path / '2' / 'csv' / 'metrics.csv'} is unreadable" in out
