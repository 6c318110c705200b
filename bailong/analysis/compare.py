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

import pandas as pd

from bailong.analysis.curves import smoothed_points, step0_value
from bailong.analysis.runs import Job

REACHED = "tokens_seen"  # summary column: the most tokens a job logged
LOWEST = "min_loss"  # summary column: the lowest value of the compared metric


def tokens_label(tokens: float) -> str:
    """``20000`` for a token budget, ``end`` for no limit (the whole run)."""
    return "end" if math.isinf(tokens) else str(int(tokens))


def loss_column(tokens: float) -> str:
    return f"loss_at_{tokens_label(tokens)}_tokens"


def threshold_column(threshold: float) -> str:
    return f"tokens_to_{threshold:g}"


def loss_curve(
    rows: pd.DataFrame | None, metric: str = "train/loss", smooth: int = 1
) -> pd.DataFrame:
    """``tokens``/``loss`` rows of a job's curve (each point at its own logged tokens),
    optionally a rolling mean."""
    return smoothed_points(rows, metric, smooth).rename(columns={"value": "loss"})


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
        rows, problem = job.rows(), job.metrics_problem
        status = "failed" if job.failed else "damaged metrics" if problem else "ok"
        record: dict[str, object] = {"job": job.label, "status": status}
        curve = loss_curve(rows, metric, smooth)
        has_curve = len(curve) > 0
        reached = float(curve["tokens"].max()) if has_curve else math.nan
        record[REACHED] = reached
        record["step0_val_loss"] = step0_value(rows, "val/loss")
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
