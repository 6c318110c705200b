"""A metric's points against tokens seen, each point at the tokens logged WITH it.

Rows are not merged by step before a curve is read: the step-0 validation pass (before any
update) and the first training step are both logged at step 0, and merging them gave the
validation loss the first step's ``train/tokens_seen`` (512), so the pre-update loss was drawn
at x = 512 instead of 0. Here each metric takes its x from its own row: ``val/*`` from
``val/tokens_seen``, any other metric (``train/*``, ``heldout/*``) from ``train/tokens_seen``
(the held-out bits-per-character callback logs it beside its scores, 0 before any update).
A resumed run logs some (step, tokens) points twice; the last one logged wins.
"""

from __future__ import annotations

import math

import pandas as pd

TRAIN_TOKENS = "train/tokens_seen"
CURVE_COLUMNS = ["tokens", "value"]


def tokens_column(metric: str, rows: pd.DataFrame) -> str:
    """``val/tokens_seen`` for ``val/*`` metrics when logged, else ``train/tokens_seen``."""
    own = f"{metric.split('/', 1)[0]}/tokens_seen"
    return own if own in rows.columns else TRAIN_TOKENS


def metric_points(rows: pd.DataFrame | None, metric: str) -> pd.DataFrame:
    """``tokens``/``value`` of every logged ``metric``, in logging order, one per (step, tokens)."""
    if rows is None or metric not in rows.columns:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    x = tokens_column(metric, rows)
    if x not in rows.columns:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    picked = rows[["step", x, metric]].dropna()
    picked = picked.drop_duplicates(subset=["step", x], keep="last")
    return pd.DataFrame(
        {"tokens": picked[x].to_numpy(dtype=float), "value": picked[metric].to_numpy(dtype=float)}
    ).reset_index(drop=True)


def smoothed_points(rows: pd.DataFrame | None, metric: str, smooth: int = 1) -> pd.DataFrame:
    """:func:`metric_points`, as a rolling mean over ``smooth`` points when above 1."""
    points = metric_points(rows, metric)
    if smooth > 1:
        points["value"] = points["value"].rolling(smooth, min_periods=1).mean()
    return points


def step0_value(rows: pd.DataFrame | None, metric: str) -> float:
    """``metric`` logged before any update (at 0 tokens seen); NaN when it was not."""
    points = metric_points(rows, metric)
    at_zero = points[points["tokens"] == 0]
    return float(at_zero["value"].iloc[-1]) if len(at_zero) else math.nan


def logs_step0(rows: pd.DataFrame | None, metric: str) -> bool:
    """Whether ``metric`` has a point at 0 tokens (validation and held-out scores do; a
    training loss is logged after its batch, at that batch's tokens)."""
    return not math.isnan(step0_value(rows, metric))
