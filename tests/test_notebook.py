"""notebooks/compare_initial_loss.ipynb executes headless on a real (tiny) sweep."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.test_sweep import TINY, run_train

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare_initial_loss.ipynb"


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
    assert (sweep / "compare" / "loss_vs_tokens.png").is_file()
