"""What bailong-compare's figure draws, read back from the points it writes beside it.

Jobs are written by hand in the layout the CSV logger leaves (tests/analysis/test_compare.py: the
step-0 validation row, logged before any update at ``val/tokens_seen`` 0, and the first
training row share step 0); tests/training/test_wandb_naming.py checks the same on a real sweep.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from bailong.analysis.figure_data import MIN_SPAN, coinciding, y_limits
from bailong.cli.compare import main as compare_main
from tests.analysis.test_compare import TOKENS_PER_STEP, write_job

EXTENDED = "${paths.cache_dir}/tokenizers/extended"
ORIGINAL = "${paths.llama2_tokenizer}"


def read_points(sweep: Path) -> pd.DataFrame:
    return pd.read_csv(sweep / "compare" / "curves.csv")


def set_tokenizer(job: Path, name_or_path: str) -> None:
    """The part of ``.hydra/config.yaml`` that says which tokenizer the job used."""
    config = {"tokenizer": {"name_or_path": name_or_path}, "model": {"name_or_path": None}}
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")


def add_bpc(job: Path, values: list[float], every: int = 10) -> None:
    """Rows as the held-out bpc callback logs them: step 0 at 0 tokens, then every N steps."""
    metrics = job / "csv" / "metrics.csv"
    rows = pd.read_csv(metrics)
    bpc = [{"step": 0, "heldout/bpc": values[0], "train/tokens_seen": 0}]
    bpc += [
        {"step": n * every - 1, "heldout/bpc": v, "train/tokens_seen": n * every * TOKENS_PER_STEP}
        for n, v in enumerate(values[1:], start=1)
    ]
    pd.concat([rows, pd.DataFrame(bpc)], ignore_index=True).to_csv(metrics, index=False)


@pytest.fixture
def lora_sweep(tmp_path: Path) -> Path:
    """Three arms; r16's curve equals r8's, r64's differs."""
    root = tmp_path / "sweep"
    write_job(root, 0, ["logger=wandb", "lora=r8"], [11 - 0.05 * s for s in range(30)])
    write_job(root, 1, ["logger=wandb", "lora=r16"], [11 - 0.05 * s for s in range(30)])
    write_job(root, 2, ["logger=wandb", "lora=r64"], [11.3 - 0.02 * s for s in range(30)])
    return root


def test_step0_is_drawn_at_zero_tokens_for_every_arm(lora_sweep: Path) -> None:
    compare_main([str(lora_sweep)])
    points = read_points(lora_sweep)
    at_zero = points[points["tokens"] == 0].set_index("job")
    assert sorted(at_zero.index) == ["lora=r16", "lora=r64", "lora=r8"]
    assert set(at_zero["metric"]) == {"val/loss"}, "the step-0 validation pass, before any update"
    assert at_zero.loc["lora=r64", "value"] == pytest.approx(11.31)
    train = points[points["metric"] == "train/loss"]
    assert train.groupby("job")["tokens"].min().eq(TOKENS_PER_STEP).all()
    step0 = pd.read_csv(lora_sweep / "compare" / "step0.csv").set_index("arm")
    assert list(step0.index) == ["r8", "r16", "r64"]
    assert step0.loc["r64", "mean"] == pytest.approx(11.31)


def test_val_loss_curves_start_at_zero_not_at_the_first_steps_tokens(lora_sweep: Path) -> None:
    """The step-0 validation row shares step 0 with the first training row (512 tokens)."""
    compare_main([str(lora_sweep), "--metric", "val/loss"])
    points = read_points(lora_sweep)
    assert set(points["metric"]) == {"val/loss"}
    assert (points.groupby("job")["tokens"].min() == 0).all()
    assert not (points["tokens"] == TOKENS_PER_STEP).any()
    table = pd.read_csv(lora_sweep / "compare" / "summary.csv").set_index("job")
    assert table.loc["lora=r8", "step0_val_loss"] == pytest.approx(11.01)


def test_coinciding_lines_are_named(lora_sweep: Path, capsys: pytest.CaptureFixture) -> None:
    compare_main([str(lora_sweep)])
    out = capsys.readouterr().out
    assert "lora=r16: its train/loss line is identical to lora=r8" in out
    assert "lora=r64: its" not in out


def test_nearly_equal_lines_say_how_close_they_are() -> None:
    tokens = np.arange(1, 5) * 512.0
    lines = {
        "r8": pd.DataFrame({"tokens": tokens, "value": [7.60, 7.65, 7.62, 7.61]}),
        "r16": pd.DataFrame({"tokens": tokens, "value": [7.60, 7.6507, 7.62, 7.61]}),
        "r64": pd.DataFrame({"tokens": tokens, "value": [7.60, 7.70, 7.62, 7.61]}),
    }
    same = coinciding(lines, tolerance=0.004)
    assert set(same) == {"r16"}
    assert same["r16"][0] == "r8" and same["r16"][1] == pytest.approx(0.0007)


def test_a_tiny_spread_does_not_fill_the_y_axis() -> None:
    lo, hi, widened = y_limits(np.array([11.00, 11.01, 11.03]))
    assert widened and hi - lo >= MIN_SPAN * 11.01
    lo, hi, widened = y_limits(np.array([9.4, 11.0]))
    assert not widened and lo < 9.4 and hi > 11.0 and hi - lo < 1.8


def test_seeds_are_one_arm_with_their_spread(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    num = 0
    for init, start in (("zip_tie", 10.0), ("random", 11.0)):
        for seed in (1, 2, 3):
            losses = [start + 0.01 * seed - 0.05 * s for s in range(10)]
            write_job(sweep, num, [f"embedding_init={init}", f"seed={seed}"], losses)
            num += 1
    compare_main([str(sweep)])
    step0 = pd.read_csv(sweep / "compare" / "step0.csv").set_index("arm")
    assert list(step0.index) == ["zip_tie", "random"]
    assert (step0["jobs"] == 3).all()
    assert step0.loc["zip_tie", "mean"] == pytest.approx(10.03)
    assert step0.loc["zip_tie", "std"] == pytest.approx(0.01)
    points = read_points(sweep)
    mean = points[(points["job"] == "mean") & (points["arm"] == "random")]
    assert len(mean) == 10 and mean["value"].iloc[0] == pytest.approx(11.02)


def vocab_sweep(root: Path, bpc: bool) -> Path:
    write_job(root, 0, ["vocab=original"], [10.42 - 0.03 * s for s in range(30)])
    write_job(root, 1, ["vocab=extended"], [11.01 - 0.05 * s for s in range(30)])
    set_tokenizer(root / "0", ORIGINAL)
    set_tokenizer(root / "1", EXTENDED)
    if bpc:
        add_bpc(root / "0", [14.2, 13.9, 13.5, 13.1])
        add_bpc(root / "1", [14.6, 13.8, 13.2, 12.7])
    return root


def compare_vocab_sweep(root: Path, capsys: pytest.CaptureFixture, bpc: bool) -> str:
    compare_main([str(vocab_sweep(root, bpc))])
    return capsys.readouterr().out


def test_per_token_losses_across_tokenizers_are_warned_about_naming_the_arms(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = compare_vocab_sweep(tmp_path / "sweep", capsys, bpc=False)
    warning = next(line for line in out.splitlines() if line.startswith("WARNING:"))
    assert "train/loss is a per-token loss and these arms use different tokenizers" in warning
    assert f"vocab=original: {ORIGINAL}" in warning and f"vocab=extended: {EXTENDED}" in warning
    assert "callbacks.heldout_bpc.enabled=true" in warning


def test_arms_with_different_tokenizers_are_compared_in_bits_per_character(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sweep = tmp_path / "sweep"
    out = compare_vocab_sweep(sweep, capsys, bpc=True)
    assert "WARNING" not in out
    assert "the arms use different tokenizers" in out and "comparing heldout/bpc" in out
    assert f"vocab=original: {ORIGINAL}; vocab=extended: {EXTENDED}" in out
    points = read_points(sweep)
    assert set(points["metric"]) == {"heldout/bpc"}
    at_zero = points[points["tokens"] == 0].set_index("job")["value"]
    assert at_zero.to_dict() == {"vocab=original": 14.2, "vocab=extended": 14.6}
    # asking for the per-token loss anyway is allowed, and warned about
    compare_main([str(sweep), "--metric", "val/loss"])
    assert "WARNING: val/loss is a per-token loss" in capsys.readouterr().out


def test_one_tokenizer_draws_no_warning(lora_sweep: Path, capsys: pytest.CaptureFixture) -> None:
    for job in ("0", "1", "2"):
        set_tokenizer(lora_sweep / job, EXTENDED)
    compare_main([str(lora_sweep)])
    assert "WARNING" not in capsys.readouterr().out
    assert not math.isnan(read_points(lora_sweep)["value"].iloc[0])
