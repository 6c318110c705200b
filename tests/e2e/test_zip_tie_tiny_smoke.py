"""The zip-tie study's one command end to end with a handful of steps (slow; CI skips it).

Every stage of experiments/zip_tie_tiny/run_study.sh runs for real (base pretraining from
scratch, tokenizer extension, init probe, the 4-bit QLoRA sweep with held-out bits/char,
summary and bailong-compare figure), only shrunk to a few steps, one seed and two methods.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import require_shared
from tests.support.helpers import run_study_script

ROOT = Path(__file__).resolve().parents[2]
FEW_STEPS = "trainer.max_steps=2 data.train_items=16 trainer.val_check_interval=2"


@pytest.mark.slow
def test_run_study_smoke(tmp_path: Path) -> None:
    llama2 = require_shared("tokenizers/llama2/tokenizer.model")
    results = tmp_path / "results"
    run_study_script(
        ROOT / "experiments" / "zip_tie_tiny" / "run_study.sh",
        llama2.parent.parent.parent,
        tmp_path,
        SEEDS="1",
        METHODS="zip_tie,random",
        THRESHOLD="100",  # every run is below it from the start: tokens-to-threshold = 0
        RESULTS=str(results),
        BASE_ARGS=f"{FEW_STEPS} callbacks.checkpoint.enabled=false",
        SWEEP_ARGS=f"{FEW_STEPS} callbacks.heldout_bpc.every_n_train_steps=1 "
        "callbacks.heldout_bpc.max_chars_per_source=300",
    )

    assert (tmp_path / "cache" / "zip_tie_tiny" / "base" / "model" / "config.json").is_file()
    per_job = pd.read_csv(results / "per_job.csv")
    assert sorted(per_job["method"]) == ["none (original tokenizer)", "random", "zip_tie"]
    assert (per_job["tokens"] == 2 * 8 * 128).all(), "every run trained the same token budget"
    assert (per_job["tokens_to_threshold"] == 0).all()
    assert (per_job["final_zh_bpc"] != per_job["step0_zh_bpc"]).all(), "training changed it"
    summary = pd.read_csv(results / "summary.csv")
    assert list(summary["method"]) == ["zip_tie", "random", "none (original tokenizer)"]
    probe = {row["method"] for row in json.loads((results / "probe_init.json").read_text())}
    assert probe == {"original", "zip_tie", "random"}
    assert (results / "heldout_zh_bpc_vs_tokens.png").stat().st_size > 0
