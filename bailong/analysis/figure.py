"""The comparison figure: the step-0 value per arm beside the curves against tokens seen.

What the paper compares is the loss before any update and how fast it falls, so:
- a left panel shows each arm's step-0 value (every seed as a dot, the mean with its standard
  deviation when an arm has seeds) and says in words by how much the arms differ;
- every curve starts with a hollow step-0 marker at x = 0 (the step-0 validation pass when
  the compared metric is a training loss, which is logged only after its first batch), joined
  to the curve by a dotted line;
- each arm has its own colour, line style and marker (offset along the line), and an arm whose
  line lies on another's is said to in the legend ("identical to ...", "within 0.0007 of ...");
- both panels share one y axis whose span is never below ``MIN_SPAN`` of the values drawn,
  and the figure says when it widened the axis;
- a warning is printed on the figure when it compares per-token values across tokenizers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from bailong.analysis.figure_data import (
    MEAN_JOB,
    MIN_SPAN,
    VISIBLE,
    coinciding,
    drawn_lines,
    same_as,
    y_limits,
)

STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v")]
MARKERS_PER_LINE = 8


def unit_of(metric: str) -> str:
    if metric.endswith("bpc"):
        return "bits/char"
    return "nats/token" if metric.endswith("loss") else ""


def draw_comparison(
    points: pd.DataFrame,
    step0: pd.DataFrame,
    metric: str,
    step0_metric: str,
    header: str,
    title: str,
    out_png: Path,
    threshold: float | None = None,
    warning: str | None = None,
) -> tuple[Path, dict[str, tuple[str, float]]]:
    """Draw ``points`` (bailong.analysis.figure_data) to ``out_png``; returns it and the arms
    whose line lies on another's (as labelled in the legend)."""
    import matplotlib  # here: half a second of import that --help and the table do not need

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(
        1, 2, figsize=(10, 5.2), dpi=100, sharey=True, gridspec_kw={"width_ratios": [1, 3]}
    )
    shown = points[points["job"] != MEAN_JOB]["value"].to_numpy(dtype=float)
    if threshold is not None:
        shown = np.append(shown, threshold)
    lo, hi, widened = y_limits(shown) if len(shown) else (0.0, 1.0, False)
    lines = drawn_lines(points, metric)
    same = coinciding(lines, VISIBLE * (hi - lo))
    arm_order = list(dict.fromkeys([*step0["arm"], *lines]))
    colors = plt.color_sequences["tab10"]
    look = {
        arm: (colors[i % len(colors)], *STYLES[i % len(STYLES)]) for i, arm in enumerate(arm_order)
    }
    unit = unit_of(step0_metric)
    draw_step0_panel(left, step0, look, step0_metric, unit)
    starts = dict(zip(step0["arm"], step0["mean"], strict=True))
    for i, (arm, line) in enumerate(lines.items()):
        color, style, marker = look[arm]
        jobs = points[(points["arm"] == arm) & (points["metric"] == metric)]
        seeds = jobs[jobs["job"] != MEAN_JOB]["job"].nunique()
        label = arm + (f" (mean of {seeds} seeds, band min–max)" if seeds > 1 else "")
        if arm in same:
            label += " — " + same_as(*same[arm])
        every = max(1, len(line) // MARKERS_PER_LINE)
        right.plot(
            line["tokens"], line["value"], color=color, linestyle=style, marker=marker,
            markevery=(i % every, every), markersize=4, linewidth=1.4, label=label,
        )  # fmt: skip
        if arm in starts and len(line) and line["tokens"].iloc[0] > 0:  # join step 0 to it
            right.plot([0, line["tokens"].iloc[0]], [starts[arm], line["value"].iloc[0]],
                       color=color, linestyle=":", linewidth=0.8)  # fmt: skip
        if seeds > 1:
            band = jobs[jobs["job"] != MEAN_JOB].groupby("tokens")["value"].agg(["min", "max"])
            right.fill_between(band.index, band["min"], band["max"], color=color, alpha=0.15)
    for row in step0.itertuples():
        color, _, marker = look[row.arm]
        right.plot(0, row.mean, marker=marker, markersize=9, markerfacecolor="none",
                   markeredgecolor=color, markeredgewidth=1.6, linestyle="none")  # fmt: skip
    if len(step0):
        right.plot([], [], marker="o", markersize=9, markerfacecolor="none", color="grey",
                   linestyle="none", label=f"step 0: {step0_metric}, no update yet")  # fmt: skip
    if threshold is not None:
        right.axhline(threshold, color="grey", linestyle="--", linewidth=1,
                      label=f"threshold {threshold:g}")  # fmt: skip
    right.set_ylim(lo, hi)
    if widened:
        right.text(0.99, 0.02, f"y axis widened to span {MIN_SPAN:.0%} of the values "
                   "(the values drawn span less)", transform=right.transAxes, ha="right",
                   fontsize=7, color="dimgrey")  # fmt: skip
    furthest = (float(points["tokens"].max()) if len(points) else 0.0) or 1.0
    right.set_xlim(-0.02 * furthest, furthest * 1.02)
    right.set_xlabel("tokens seen")
    ylabel = metric if step0_metric == metric else f"{metric}; step 0: {step0_metric}"
    left.set_ylabel(f"{ylabel} ({unit})" if unit else ylabel)
    right.set_title(title, fontsize=10)
    right.grid(alpha=0.3)
    if right.lines:
        right.legend(fontsize=7, loc="upper right", title=header, title_fontsize=7)
    if warning:
        text = ("WARNING: " + warning).replace("$", r"\$")  # ${paths...} is not mathtext
        fig.suptitle(text, color="firebrick", fontsize=7, wrap=True)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png, same


def draw_step0_panel(ax, step0: pd.DataFrame, look: dict, metric: str, unit: str) -> None:
    """Per arm: its seeds' step-0 values as dots, the mean (± std with seeds) as its marker,
    labelled with as many decimals as tell the arms apart."""
    spread = float(step0["mean"].max() - step0["mean"].min()) if len(step0) else 0.0
    decimals = min(4, max(2, 1 - math.floor(math.log10(spread)))) if spread > 0 else 2
    for x, row in enumerate(step0.itertuples()):
        color, _, marker = look[row.arm]
        values = [float(v) for v in row.values.split()]
        if len(values) > 1:
            jitter = np.linspace(-0.15, 0.15, len(values))
            ax.scatter(x + jitter, values, s=10, color=color, alpha=0.6)
        std = 0.0 if math.isnan(row.std) else row.std
        ax.errorbar(x, row.mean, yerr=std, color=color, marker=marker, markersize=7, capsize=4)
        ax.annotate(f"{row.mean:.{decimals}f}", (x, row.mean), xytext=(0, -14),
                    textcoords="offset points", fontsize=7, ha="center")  # fmt: skip
    ax.set_xticks(range(len(step0)), list(step0["arm"]), rotation=30, ha="right", fontsize=7)
    ax.set_xlim(-0.6, len(step0) - 0.4)
    title = f"step 0: {metric}"
    if len(step0) > 1:
        title += f"\narms differ by {spread:.3g} {unit}".rstrip()
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="y")
