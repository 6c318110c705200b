"""Compare initial-loss curves across jobs: the paper's init comparison as a table and a plot.

Curves are drawn against tokens seen (not steps), so runs with different batch sizes or
tokenizers line up; the table reports the step-0 (pre-update) validation loss, the training
loss once N tokens have been seen, and the tokens needed to reach a loss threshold.

Nothing is extrapolated: a job that stopped before N tokens has no "loss at N" (the column is
empty and :func:`comparison_notes` names the job and how far it got), and a job that never
reached the threshold is named with its lowest loss, so a table can never overstate a run.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from bailong.analysis.runs import Job, varying_keys

TOKENS = "train/tokens_seen"
REACHED = "tokens_seen"  # summary column: the most tokens a job logged
LOWEST = "min_loss"  # summary column: the lowest value of the compared metric


def tokens_label(tokens: float) -> str:
    """``20000`` for a token budget, ``end`` for no limit (the whole run)."""
    return "end" if math.isinf(tokens) else str(int(tokens))


def loss_column(tokens: float) -> str:
    return f"loss_at_{tokens_label(tokens)}_tokens"


def threshold_column(threshold: float) -> str:
    return f"tokens_to_{threshold:g}"


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
    """One row per job: tokens reached, step-0 val loss, first loss, loss at ``tokens`` (empty
    when the job stopped before), tokens to reach ``threshold`` (empty when it never did)."""
    records = []
    for job in jobs:
        metrics, problem = job.metrics(), job.metrics_problem
        status = "failed" if job.failed else "damaged metrics" if problem else "ok"
        record: dict[str, object] = {"job": job.label, "status": status}
        curve = loss_curve(metrics, metric, smooth) if metrics is not None else None
        has_curve = curve is not None and len(curve) > 0
        reached = float(curve["tokens"].max()) if has_curve else math.nan
        record[REACHED] = reached
        record["step0_val_loss"] = step0_val_loss(metrics) if metrics is not None else math.nan
        record["first_train_loss"] = float(curve["loss"].iloc[0]) if has_curve else math.nan
        record[LOWEST] = float(curve["loss"].min()) if has_curve else math.nan
        got_there = has_curve and (math.isinf(tokens) or reached >= tokens)
        record[loss_column(tokens)] = (
            float(curve[curve["tokens"] <= tokens]["loss"].iloc[-1]) if got_there else math.nan
        )
        if threshold is not None:
            hit = curve[curve["loss"] <= threshold] if has_curve else None
            record[threshold_column(threshold)] = (
                float(hit["tokens"].iloc[0]) if hit is not None and len(hit) else math.nan
            )
        if job.failed or problem:
            record["error"] = "; ".join(e for e in (job.failure, problem) if e)
        records.append(record)
    return pd.DataFrame.from_records(records)


def comparison_notes(frame: pd.DataFrame, tokens: float, threshold: float | None) -> list[str]:
    """Plain-language warnings about what the table cannot say: jobs that stopped before
    ``tokens``, and jobs that never reached ``threshold`` (with their lowest loss)."""
    notes = []
    has_curve = frame[frame[REACHED].notna()]
    if not math.isinf(tokens):
        short = has_curve[has_curve[REACHED] < tokens]
        if len(short):
            runs = ", ".join(f"{r.job} ({int(getattr(r, REACHED)):,})" for r in short.itertuples())
            notes.append(
                f"{len(short)} of {len(frame)} jobs stopped before {int(tokens):,} tokens, so "
                f"{loss_column(tokens)} is empty for them: {runs}"
            )
    if threshold is not None:
        missed = has_curve[has_curve[threshold_column(threshold)].isna()]
        if len(missed):
            runs = ", ".join(f"{r.job} (lowest {r.min_loss:.4g})" for r in missed.itertuples())
            notes.append(f"never reached {threshold:g}: {runs}")
    no_curve = frame[frame[REACHED].isna()]
    if len(no_curve):
        notes.append(f"no logged curve: {', '.join(no_curve['job'])}")
    return notes


def furthest_tokens(frame: pd.DataFrame) -> float:
    """The most tokens any job reached (NaN when no job logged a curve)."""
    return float(frame[REACHED].max())


def plot_title(metric: str, tokens: float, furthest: float) -> str:
    """What the plot shows, in the title: the metric and the token span really drawn."""
    if math.isinf(tokens):
        span = f"the whole run ({furthest:,.0f} tokens)"
    elif furthest < tokens:
        span = f"all {furthest:,.0f} tokens logged (asked for {tokens:,.0f})"
    else:
        span = f"the first {tokens:,.0f} tokens"
    return f"{metric} vs tokens seen, {span}"


def plot_curves(
    jobs: list[Job],
    tokens: float,
    out_png: Path,
    metric: str = "train/loss",
    smooth: int = 1,
    title: str | None = None,
    threshold: float | None = None,
) -> Path:
    """Loss vs tokens for the first ``tokens`` tokens, one line per job, labelled by what
    differs between jobs; the title and x axis say how far the curves really go."""
    import matplotlib  # here: half a second of import that --help and the table do not need

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    keys, values = varying_keys(jobs)
    furthest = 0.0  # the most tokens any job logged, drawn or not
    for job, label in zip(jobs, values, strict=True):
        metrics = job.metrics()
        if metrics is None:
            continue
        curve = loss_curve(metrics, metric, smooth)
        furthest = max(furthest, float(curve["tokens"].max()) if len(curve) else 0.0)
        curve = curve[curve["tokens"] <= tokens]
        if len(curve):
            ax.plot(curve["tokens"], curve["loss"], label=label, linewidth=1.4)
    if threshold is not None:
        ax.axhline(
            threshold, color="grey", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
        )
    ax.set_xlabel("tokens seen")
    ax.set_ylabel(metric + (f" (rolling mean of {smooth})" if smooth > 1 else ""))
    ax.set_xlim(0, min(furthest, tokens) or None)
    ax.set_title(title or plot_title(metric, tokens, furthest))
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper right", title=keys, title_fontsize=7)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
