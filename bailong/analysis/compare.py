"""Compare initial-loss curves across jobs: the paper's init comparison as a table and a plot.

Curves are drawn against tokens seen (not steps), so runs with different batch sizes or
tokenizers line up; the table reports the step-0 (pre-update) validation loss, the training
loss once N tokens have been seen, and the tokens needed to reach a loss threshold.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from bailong.analysis.runs import Job

TOKENS = "train/tokens_seen"


def tokens_label(tokens: float) -> str:
    """``20000`` for a token budget, ``end`` for no limit (the whole run)."""
    return "end" if math.isinf(tokens) else str(int(tokens))


def loss_curve(metrics: pd.DataFrame, metric: str = "train/loss", smooth: int = 1) -> pd.DataFrame:
    """``tokens``/``loss`` rows of a job's training curve, optionally a rolling mean."""
    if metric not in metrics or TOKENS not in metrics:
        return pd.DataFrame(columns=["tokens", "loss"])
    rows = metrics[[TOKENS, metric]].dropna()
    curve = pd.DataFrame({"tokens": rows[TOKENS].to_numpy(), "loss": rows[metric].to_numpy()})
    if smooth > 1:
        curve["loss"] = curve["loss"].rolling(smooth, min_periods=1).mean()
    return curve.reset_index(drop=True)


def step0_val_loss(metrics: pd.DataFrame) -> float:
    """The validation loss logged before any update (step 0), NaN when absent."""
    if "val/loss" not in metrics:
        return math.nan
    rows = metrics[(metrics["step"] == 0) & metrics["val/loss"].notna()]
    return float(rows["val/loss"].iloc[0]) if len(rows) else math.nan


def summarize(
    jobs: list[Job],
    tokens: float,
    threshold: float | None,
    metric: str = "train/loss",
    smooth: int = 1,
) -> pd.DataFrame:
    """One row per job: step-0 val loss, loss at ``tokens``, tokens to reach ``threshold``."""
    records = []
    for job in jobs:
        metrics, problem = job.metrics(), job.metrics_problem
        status = "failed" if job.failed else "damaged metrics" if problem else "ok"
        record = {"job": job.label, "status": status}
        curve = loss_curve(metrics, metric, smooth) if metrics is not None else None
        record["step0_val_loss"] = step0_val_loss(metrics) if metrics is not None else math.nan
        record["first_train_loss"] = (
            float(curve["loss"].iloc[0]) if curve is not None and len(curve) else math.nan
        )
        within = curve[curve["tokens"] <= tokens] if curve is not None else None
        record[f"loss_at_{tokens_label(tokens)}_tokens"] = (
            float(within["loss"].iloc[-1]) if within is not None and len(within) else math.nan
        )
        if threshold is not None:
            hit = curve[curve["loss"] <= threshold] if curve is not None else None
            record[f"tokens_to_{threshold:g}"] = (
                float(hit["tokens"].iloc[0]) if hit is not None and len(hit) else math.nan
            )
        if job.failed or problem:
            record["error"] = "; ".join(e for e in (job.failure, problem) if e)
        records.append(record)
    return pd.DataFrame.from_records(records)


def plot_curves(
    jobs: list[Job],
    tokens: float,
    out_png: Path,
    metric: str = "train/loss",
    smooth: int = 1,
    title: str | None = None,
) -> Path:
    """Loss vs tokens for the first ``tokens`` tokens, one labelled line per job."""
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for job in jobs:
        metrics = job.metrics()
        if metrics is None:
            continue
        curve = loss_curve(metrics, metric, smooth)
        curve = curve[curve["tokens"] <= tokens]
        if len(curve):
            ax.plot(curve["tokens"], curve["loss"], label=job.label, linewidth=1.4)
    ax.set_xlabel("tokens seen")
    ax.set_ylabel(metric + (f" (rolling mean of {smooth})" if smooth > 1 else ""))
    span = "the whole run" if math.isinf(tokens) else f"the first {int(tokens):,} tokens"
    ax.set_title(title or f"{metric} over {span}")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
