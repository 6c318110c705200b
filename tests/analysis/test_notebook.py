"""notebooks/compare_initial_loss.ipynb executes headless on a real (tiny) sweep (slow), on a
hand-written one from another working directory, and stops with the choices without one."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from bailong.analysis.sweeps import SweepNotFound, resolve_sweep
from tests.analysis.test_compare import write_job
from tests.cli.test_sweep import TINY, run_train

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare_initial_loss.ipynb"


@pytest.mark.slow
def test_compare_notebook_runs_on_a_sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = tmp_path / "sweep"
    proc = run_train(
        ["-m", "lora=r8,r16", "logger=many_loggers", f"hydra.sweep.dir={sweep}", *TINY], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    monkeypatch.setenv("BAILONG_SWEEP_DIR", str(sweep))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    texts = "".join(o.get("text", "") for o in outputs) + "".join(
        o.get("data", {}).get("text/plain", "") for o in outputs if "data" in o
    )
    assert "2 jobs under" in texts
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot is displayed"
    points = pd.read_csv(sweep / "compare" / "notebook_curves.csv")
    step0 = points[points["tokens"] == 0]
    assert sorted(step0["job"]) == ["lora=r16", "lora=r8"], "step 0 at x = 0 for each arm"


def run_notebook(tmp_path: Path, sweep: str | None, monkeypatch: pytest.MonkeyPatch) -> list:
    """Execute the notebook with Jupyter started in ``tmp_path`` (not the repo or notebooks/)."""
    if sweep is None:
        monkeypatch.delenv("BAILONG_SWEEP_DIR", raising=False)
    else:
        monkeypatch.setenv("BAILONG_SWEEP_DIR", sweep)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("BAILONG_COMPARE_THRESHOLD", "10.5")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def test_notebook_without_a_sweep_stops_with_the_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CellExecutionError, match=r"no sweep selected: set BAILONG_SWEEP_DIR"):
        run_notebook(tmp_path, None, monkeypatch)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "compare").exists()


def test_notebook_reads_the_named_sweep_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep = tmp_path / "sweep"
    write_job(sweep, 0, ["embedding_init=zip_tie"], [11 - 0.06 * s for s in range(30)])
    write_job(sweep, 1, ["embedding_init=random"], [11 - 0.02 * s for s in range(20)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_the_command = sweep / "compare" / "loss_vs_tokens.png"
    from_the_command.parent.mkdir()
    from_the_command.write_bytes(b"bailong-compare's figure")
    outputs = run_notebook(elsewhere, str(sweep), monkeypatch)
    texts = "".join(o.get("text", "") for o in outputs)
    assert "2 jobs under" in texts
    assert "never reached 10.5: embedding_init=random (lowest 10.62)" in texts
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot is displayed"
    assert (sweep / "compare" / "notebook_loss_vs_tokens.png").stat().st_size > 10_000
    assert from_the_command.read_bytes() == b"bailong-compare's figure", "not overwritten"
    points = pd.read_csv(sweep / "compare" / "notebook_curves.csv")
    assert sorted(points[points["tokens"] == 0]["job"]) == [
        "embedding_init=random",
        "embedding_init=zip_tie",
    ]
    assert not (elsewhere / "compare").exists()


def test_notebook_draws_no_threshold_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default threshold of 6.0 stretched the y axis of an 11-nat sweep to a flat line."""
    sweep = tmp_path / "sweep"
    write_job(sweep, 0, ["embedding_init=zip_tie"], [11 - 0.06 * s for s in range(30)])
    monkeypatch.setenv("BAILONG_SWEEP_DIR", str(sweep))
    monkeypatch.delenv("BAILONG_COMPARE_THRESHOLD", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "step0_val_loss" in shown, "the table is displayed"
    assert "tokens_to_" not in shown and "never reached" not in shown


def test_sweeps_resolve_from_the_repo_and_name_the_choices(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    with pytest.raises(SweepNotFound, match=r"no sweep under .*logs yet; run one"):
        resolve_sweep(None, root)
    older = root / "logs" / "ablate_lora_rank_tiny" / "multiruns" / "2026-11-01_10-00-00"
    newer = root / "logs" / "ablate_embedding_init_tiny" / "multiruns" / "2026-11-02_10-00-00"
    write_job(older, 0, ["lora=r8"], [10.0])
    write_job(newer, 0, ["embedding_init=zip_tie"], [10.0])
    os.utime(older, (1, 1))
    with pytest.raises(SweepNotFound) as info:
        resolve_sweep(None, root)
    listed = str(info.value).splitlines()[1:]
    assert [line.strip() for line in listed] == [
        str(newer.relative_to(root)),
        str(older.relative_to(root)),
    ]
    assert resolve_sweep(str(older.relative_to(root)), root) == older
    assert resolve_sweep("latest", root) == newer
    (root / "logs" / "empty").mkdir()
    with pytest.raises(SweepNotFound, match="holds no Hydra jobs"):
        resolve_sweep("logs/empty", root)
