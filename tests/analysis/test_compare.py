"""``bailong-compare`` never overstates: no loss past the end of a run, named misses, 80 columns.

The sweep here is written by hand in the layout a Hydra multirun leaves (``.hydra/overrides.yaml``
and Lightning's ``csv/metrics.csv`` per job); tests/cli/test_sweep.py runs compare on a real sweep.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bailong.analysis.compare import plot_title
from bailong.analysis.runs import find_jobs, varying_keys
from bailong.cli.compare import main as compare_main

TOKENS_PER_STEP = 512


def write_job(sweep: Path, num: int, overrides: list[str], losses: list[float]) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides), encoding="utf-8")
    rows = [{"step": 0, "val/loss": losses[0] + 0.01, "val/tokens_seen": 0}]
    rows += [
        {"step": s, "train/loss": loss, "train/tokens_seen": (s + 1) * TOKENS_PER_STEP}
        for s, loss in enumerate(losses)
    ]
    (job / "csv").mkdir()
    pd.DataFrame(rows).to_csv(job / "csv" / "metrics.csv", index=False)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Three jobs of 30 steps (15,360 tokens) and one that stopped after 20 steps."""
    root = tmp_path / "sweep"
    common = ["experiment=ablate_embedding_init_tiny"]
    write_job(root, 0, [*common, "embedding_init=zip_tie"], [11 - 0.06 * s for s in range(30)])
    write_job(root, 1, [*common, "embedding_init=subword_mean"], [11 - 0.05 * s for s in range(30)])
    write_job(root, 2, [*common, "embedding_init=mean"], [11 - 0.02 * s for s in range(30)])
    write_job(root, 3, [*common, "embedding_init=random"], [11 - 0.07 * s for s in range(20)])
    return root


def run_compare(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    compare_main(args)
    return capsys.readouterr().out


def test_tokens_beyond_a_job_leave_its_cell_empty_and_name_it(
    sweep: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = run_compare([str(sweep), "--tokens", "12000", "--threshold", "9.5"], monkeypatch, capsys)
    table = pd.read_csv(sweep / "compare" / "summary.csv").set_index("job")
    assert table.loc["embedding_init=zip_tie", "tokens_seen"] == 30 * TOKENS_PER_STEP
    # the loss logged at 11,776 tokens (step 22), not the end of the run
    assert table.loc["embedding_init=zip_tie", "loss_at_12000_tokens"] == pytest.approx(
        11 - 0.06 * 22
    )
    assert math.isnan(table.loc["embedding_init=random", "loss_at_12000_tokens"])
    assert "1 of 4 jobs stopped before 12,000 tokens" in out
    assert "embedding_init=random (10,240)" in out
    # mean bottoms out at 11 - 0.02 * 29 = 10.42 and never reaches 9.5; the notes say so
    assert math.isnan(table.loc["embedding_init=mean", "tokens_to_9.5"])
    assert "never reached 9.5: embedding_init=subword_mean (lowest 9.55), " in out
    assert "embedding_init=mean (lowest 10.42)" in out
    assert table.loc["embedding_init=zip_tie", "tokens_to_9.5"] == 26 * TOKENS_PER_STEP


def test_tokens_beyond_every_job_is_refused(
    sweep: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    with pytest.raises(SystemExit, match=r"--tokens 20,000 is beyond every job.*15,360"):
        run_compare([str(sweep), "--tokens", "20000"], monkeypatch, capsys)
    assert not (sweep / "compare").exists(), "nothing is written for a refused comparison"


def test_table_fits_80_columns_and_shows_what_differs(
    sweep: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out = run_compare([str(sweep), "--tokens", "15000", "--threshold", "9.5"], monkeypatch, capsys)
    table_lines = [line for line in out.splitlines() if not line.startswith(("note:", "wrote"))]
    assert max(len(line) for line in table_lines) <= 80, out
    assert "embedding_init" in out
    first_cells = [line.split("│")[1].strip() for line in table_lines if line.count("│") > 2]
    assert first_cells == ["zip_tie", "subword_mean", "mean", "random"], out
    assert "never" in out and "not reached" in out, "empty cells say why"


def test_labels_and_title_say_what_is_plotted(sweep: Path) -> None:
    header, values = varying_keys(find_jobs(sweep))
    assert header == "embedding_init"
    assert values == ["zip_tie", "subword_mean", "mean", "random"]
    assert plot_title("train/loss", 20000, 15360) == (
        "train/loss vs tokens seen, all 15,360 tokens logged (asked for 20,000)"
    )
    assert (
        plot_title("train/loss", 15000, 15360)
        == "train/loss vs tokens seen, the first 15,000 tokens"
    )
    assert plot_title("train/loss", math.inf, 15360) == (
        "train/loss vs tokens seen, the whole run (15,360 tokens)"
    )


def test_jobs_varying_different_keys_keep_their_full_labels(tmp_path: Path) -> None:
    write_job(tmp_path, 0, ["lora=r8"], [10.0])
    write_job(tmp_path, 1, ["seed=2"], [10.0])
    assert varying_keys(find_jobs(tmp_path)) == ("job", ["lora=r8", "seed=2"])
