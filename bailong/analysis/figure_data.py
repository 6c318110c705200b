"""The points a comparison figure draws, as tables a reader and a test can check.

``points`` (written as ``curves.csv``) holds one row per drawn point: each job's curve of the
compared metric, each job's step-0 value (at 0 tokens; the step-0 validation pass when the
compared metric is a training loss, which is logged only after its first batch), and per arm
with several seeds the mean line that is drawn (``job`` = ``mean``). ``step0_table`` (written
as ``step0.csv``) is the step-0 panel: per arm the mean, spread and values over its seeds.
Arms whose drawn lines lie on top of each other (within :data:`VISIBLE` of the y axis) are
named, so a legend can say that a line hides another instead of silently drawing one line for
two arms.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bailong.analysis.curves import logs_step0, smoothed_points, step0_value
from bailong.analysis.runs import Arms, Job

POINT_COLUMNS = ["job", "arm", "seed", "metric", "tokens", "value"]
MEAN_JOB = "mean"  # the ``job`` of an arm's mean-over-seeds line
SAME = 1e-4  # lines closer than this everywhere are identical (at any y range drawn)
VISIBLE = 0.01  # lines closer than this share of the y axis everywhere hide each other
MIN_SPAN = 0.05  # the y axis spans at least this share of the median value drawn
STEP0_FALLBACK = "val/loss"  # the step-0 pass for metrics logged only after an update


def step0_metric_for(jobs: list[Job], metric: str) -> str:
    """``metric`` itself when it is logged before any update (val/*, heldout/*), else the
    step-0 validation loss."""
    return metric if any(logs_step0(job.rows(), metric) for job in jobs) else STEP0_FALLBACK


def curve_of(job: Job, metric: str, tokens: float, smooth: int) -> pd.DataFrame:
    """The job's ``metric`` up to ``tokens`` tokens, optionally a rolling mean over points."""
    curve = smoothed_points(job.rows(), metric, smooth)
    return curve[curve["tokens"] <= tokens]


def plotted_points(
    jobs: list[Job], arms: Arms, metric: str, step0_metric: str, tokens: float, smooth: int = 1
) -> pd.DataFrame:
    """Every point the figure draws (see the module docstring), in :data:`POINT_COLUMNS`."""
    frames = []
    for job, arm, seed in zip(jobs, arms.labels, arms.seeds, strict=True):
        curve = curve_of(job, metric, tokens, smooth)
        if step0_metric != metric and not math.isnan(v := step0_value(job.rows(), step0_metric)):
            step0 = pd.DataFrame({"metric": [step0_metric], "tokens": [0.0], "value": [v]})
            frames.append(step0.assign(job=job.label, arm=arm, seed=seed))
        frames.append(curve.assign(job=job.label, arm=arm, seed=seed, metric=metric))
    for arm, members in arms.jobs_of(jobs).items():
        if len(members) > 1:
            frames.append(arm_mean(frames, [j.label for j in members], arm, metric))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=POINT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[POINT_COLUMNS]


def arm_mean(frames: list[pd.DataFrame], labels: list[str], arm: str, metric: str) -> pd.DataFrame:
    """The mean over an arm's jobs at the tokens every one of them logged."""
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True)
    rows = rows[rows["job"].isin(labels) & (rows["metric"] == metric)]
    by_tokens = rows.groupby("tokens")["value"]
    everyone = by_tokens.count() == len(labels)
    mean = by_tokens.mean()[everyone].reset_index()
    return mean.assign(job=MEAN_JOB, arm=arm, seed=None, metric=metric)


def drawn_lines(points: pd.DataFrame, metric: str) -> dict[str, pd.DataFrame]:
    """Per arm, the line drawn for ``metric``: its mean over seeds, else its one job's curve."""
    rows = points[points["metric"] == metric]
    lines = {}
    for arm, of_arm in rows.groupby("arm", sort=False):
        mean = of_arm[of_arm["job"] == MEAN_JOB]
        lines[str(arm)] = (mean if len(mean) else of_arm)[["tokens", "value"]]
    return lines


def y_limits(values: np.ndarray) -> tuple[float, float, bool]:
    """A y range holding ``values`` with 5% margins, at least :data:`MIN_SPAN` of their
    median wide (differences of 0.03 nats on a loss of 11 must not fill the figure); and
    whether it had to be widened to that."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    floor = MIN_SPAN * abs(float(np.nanmedian(values)))
    widened = hi - lo < floor
    if widened:
        middle = (lo + hi) / 2
        lo, hi = middle - floor / 2, middle + floor / 2
    margin = 0.05 * (hi - lo or 1.0)
    return lo - margin, hi + margin, widened


def coinciding(lines: dict[str, pd.DataFrame], tolerance: float) -> dict[str, tuple[str, float]]:
    """Arms whose line lies within ``tolerance`` of an earlier arm's at every point (same
    tokens), mapped to that arm and the largest difference."""
    same: dict[str, tuple[str, float]] = {}
    arms = list(lines)
    for i, arm in enumerate(arms):
        for earlier in arms[:i]:
            a, b = lines[arm], lines[earlier]
            if not len(a) or len(a) != len(b) or not np.array_equal(a["tokens"], b["tokens"]):
                continue
            gap = float(np.max(np.abs(a["value"].to_numpy() - b["value"].to_numpy())))
            if gap <= max(tolerance, SAME):
                same[arm] = (same.get(earlier, (earlier, 0.0))[0], gap)
                break
    return same


def same_as(other: str, gap: float) -> str:
    """How a legend and a note say that a line hides another."""
    return f"identical to {other}" if gap <= SAME else f"within {gap:.2g} of {other} throughout"


def step0_table(points: pd.DataFrame, step0_metric: str, arm_order: list[str]) -> pd.DataFrame:
    """Per arm: the step-0 ``step0_metric`` over its jobs (mean, std, min, max, values)."""
    rows = points[
        (points["metric"] == step0_metric) & (points["tokens"] == 0) & (points["job"] != MEAN_JOB)
    ]
    records = []
    for arm in dict.fromkeys(arm_order):
        values = rows[rows["arm"] == arm]["value"].to_numpy(dtype=float)
        if not len(values):
            continue
        records.append(
            {
                "arm": arm,
                "metric": step0_metric,
                "jobs": len(values),
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "min": float(values.min()),
                "max": float(values.max()),
                "values": " ".join(f"{v:.6g}" for v in values),
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["arm", "metric", "jobs", "mean", "std", "min", "max", "values"]
    )
