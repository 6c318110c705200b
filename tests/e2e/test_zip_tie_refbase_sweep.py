"""The reference-base QLoRA sweep: its summary (tokens to reach the no-extension arm's level,
per seed) on hand-made runs, and its one command end to end with a handful of steps (slow)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from bailong.core.run_files import METRICS_CSV
from experiments.zip_tie_refbase.sweep_summary import REFBASE
from experiments.zip_tie_tiny.study import ORIGINAL, summarize
from tests.conftest import require_shared
from tests.support.helpers import run_study_script

ROOT = Path(__file__).resolve().parents[2]


def fake_job(
    job_dir: Path, overrides: list[str], curve: list[tuple[int, float]], modern_shift: float = 0
) -> None:
    """A finished job: Hydra's overrides and held-out rows (poems = pooled = modern - shift)."""
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job_dir / METRICS_CSV).parent.mkdir(parents=True)
    rows = [
        {
            "heldout/bpc": bpc,
            "heldout/zh_poems/bpc": bpc,
            "heldout/zh_modern/bpc": bpc + modern_shift,
            "train/tokens_seen": float(tokens),
        }
        for tokens, bpc in curve
    ]
    # a training row between the held-out ones, as the CSV logger writes them
    rows.insert(1, {"train/loss": 3.0, "train/tokens_seen": 1.0})
    pd.DataFrame(rows).to_csv(job_dir / METRICS_CSV, index=False)


def test_summary_counts_tokens_to_the_same_seeds_no_extension_level(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # seed 1: the base starts at 8.0 and ends at 7.0; seed 2: 9.0 -> 8.5
    fake_job(sweep / "original_s1/0", ["seed=1"], [(0, 8.0), (100, 7.5), (200, 7.0)])
    fake_job(sweep / "original_s2/0", ["seed=2"], [(0, 9.0), (100, 8.7), (200, 8.5)])
    ext = ["embedding_init=zip_tie"]
    # its modern Chinese starts at 7.5, already below the base's 8.0
    zt1 = [(0, 11.0), (50, 8.0), (100, 7.2), (150, 6.9)]
    fake_job(sweep / "zt_s1/0", [*ext, "seed=1"], zt1, modern_shift=-3.5)
    # seed 2 reaches its own base (9.0) at 100 tokens, never its no-extension arm's 8.5
    fake_job(sweep / "zt_s2/0", [*ext, "seed=2"], [(0, 12.0), (100, 8.9), (150, 8.6)])

    summary = summarize(sweep, tmp_path / "out", float("inf"), 8.0, REFBASE, reference=True)

    per_job = pd.read_csv(tmp_path / "out" / "per_job.csv").set_index(["method", "seed"])
    assert per_job.loc[("zip_tie", 1), "tokens_to_base_zh"] == 50
    assert per_job.loc[("zip_tie", 1), "tokens_to_original_final_zh"] == 150
    assert per_job.loc[("zip_tie", 1), "tokens_to_base_modern"] == 0
    assert per_job.loc[("zip_tie", 2), "tokens_to_base_zh"] == 100
    assert pd.isna(per_job.loc[("zip_tie", 2), "tokens_to_original_final_zh"])
    assert per_job.loc[(ORIGINAL, 2), "tokens_to_base_zh"] == 0
    assert per_job.loc[(ORIGINAL, 2), "tokens_to_original_final_zh"] == 200
    assert per_job.loc[("zip_tie", 2), "final_modern_bpc"] == 8.6
    row = summary.set_index("method").loc["zip_tie"]
    assert row["tokens_to_base_zh"] == "75 ± 35 (2/2 reached)"
    assert row["tokens_to_original_final_zh"] == "150 ± 0 (1/2 reached)"
    assert row["step0_zh_bpc"] == "11.500 ± 0.707"
    assert row["tokens_to_zh_bpc_8"] == "50 ± 0 (1/2 reached)"  # the fixed threshold
    assert list(summary["method"]) == ["zip_tie", ORIGINAL]
    assert (tmp_path / "out" / "heldout_zh_bpc_mean_std.png").stat().st_size > 0


@pytest.mark.slow
def test_run_sweep_smoke(tmp_path: Path) -> None:
    """run_sweep.sh for real (tokenizer extension, held-out split, 4-bit QLoRA on the reference
    base, summary), shrunk to two steps, one seed, one method and a 4,000-piece addition."""
    base = require_shared("models/zh_byte_base_23m/config.json")
    results = tmp_path / "results"
    run_study_script(
        ROOT / "experiments" / "zip_tie_refbase" / "run_sweep.sh",
        base.parent.parent.parent,
        tmp_path,
        SEEDS="1",
        METHODS="zip_tie",
        RESULTS=str(results),
        EXTEND_ARGS="spm.vocab_size=4000 spm.character_coverage=0.99 merge.max_added=null",
        SWEEP_ARGS="trainer.max_steps=2 data.train_items=16 trainer.val_check_interval=2 "
        "callbacks.heldout_bpc.every_n_train_steps=1 "
        "callbacks.heldout_bpc.max_chars_per_source=200",
    )

    per_job = pd.read_csv(results / "per_job.csv").set_index("method")
    assert sorted(per_job.index) == [ORIGINAL, "zip_tie"]
    assert (per_job["tokens"] == 2 * 8 * 128).all(), "every run trained the same token budget"
    assert (per_job["final_zh_bpc"] != per_job["step0_zh_bpc"]).all(), "training changed it"
    # both arms score the same held-out characters: the unextended base's step 0 is < 10 bits
    # per character there (its README), and extension makes the start worse
    assert per_job.loc[ORIGINAL, "step0_zh_bpc"] < 10
    assert per_job.loc["zip_tie", "step0_zh_bpc"] > per_job.loc[ORIGINAL, "step0_zh_bpc"]
    assert per_job.loc[ORIGINAL, "tokens_to_base_zh"] == 0
    assert (results / "heldout_zh_bpc_mean_std.png").stat().st_size > 0
