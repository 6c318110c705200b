"""The one call ``bailong-compare`` and the notebook share: pick the metric, draw the figure,
and write the plotted points beside it.

The metric is chosen so that arms are compared in one unit: when the arms use different
tokenizers and every job logged held-out bits per character, those are compared instead of a
per-token loss; a per-token metric across tokenizers (asked for, or the only one logged) is
drawn with a warning that names the arms. Files, for a ``prefix`` (the notebook uses its
own, so it never overwrites what the command wrote): ``<prefix>loss_vs_tokens.png``, its
points ``<prefix>curves.csv`` (job, arm, seed, metric, tokens, value) and its step-0 panel
``<prefix>step0.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bailong.analysis.compare import plot_title
from bailong.analysis.curves import metric_points
from bailong.analysis.figure import draw_comparison
from bailong.analysis.figure_data import (
    plotted_points,
    same_as,
    step0_metric_for,
    step0_table,
)
from bailong.analysis.runs import Arms, Job
from bailong.analysis.tokenizers import (
    BITS_PER_CHAR,
    BPC_SWITCH,
    cross_tokenizer_warning,
    is_per_token,
    mixed_tokenizers,
    tokenizer_groups,
)

DEFAULT_METRIC = "train/loss"
FIGURE, CURVES, STEP0 = "loss_vs_tokens.png", "curves.csv", "step0.csv"


@dataclass
class MetricChoice:
    metric: str
    notes: list[str] = field(default_factory=list)  # why this metric
    warning: str | None = None  # a per-token comparison across tokenizers


def choose_metric(jobs: list[Job], arms: Arms, requested: str | None) -> MetricChoice:
    """``requested``, else the training loss, else (arms with different tokenizers) bits per
    character when every job logged them; warns on per-token values across tokenizers."""
    mixed = mixed_tokenizers(jobs, arms.labels)
    if not mixed:
        return MetricChoice(requested or DEFAULT_METRIC)
    has_bpc = all(len(metric_points(job.rows(), BITS_PER_CHAR)) for job in jobs)
    if requested is None and has_bpc:
        tokenizers = tokenizer_groups(mixed, arms.header)
        return MetricChoice(
            BITS_PER_CHAR,
            [f"the arms use different tokenizers ({tokenizers}): comparing {BITS_PER_CHAR} "
             "(bits per character on the same held-out text), not a per-token loss"],
        )  # fmt: skip
    metric = requested or DEFAULT_METRIC
    if not is_per_token(metric):
        return MetricChoice(metric)
    warning = cross_tokenizer_warning(metric, mixed, arms.header)
    if not has_bpc:
        warning += f"; this sweep did not log {BITS_PER_CHAR}: rerun it with {BPC_SWITCH}"
    return MetricChoice(metric, warning=warning)


def write_figure(
    jobs: list[Job],
    arms: Arms,
    choice: MetricChoice,
    out: Path,
    tokens: float,
    smooth: int = 1,
    threshold: float | None = None,
    prefix: str = "",
) -> tuple[list[Path], list[str]]:
    """Draw and save the comparison; returns the files written and notes for the reader
    (lines that coincide)."""
    metric = choice.metric
    step0_metric = step0_metric_for(jobs, metric)
    points = plotted_points(jobs, arms, metric, step0_metric, tokens, smooth)
    step0 = step0_table(points, step0_metric, arms.labels)
    out.mkdir(parents=True, exist_ok=True)
    curves_csv, step0_csv = out / f"{prefix}{CURVES}", out / f"{prefix}{STEP0}"
    points.to_csv(curves_csv, index=False)
    step0.to_csv(step0_csv, index=False)
    drawn = points[points["metric"] == metric]["tokens"]
    furthest = float(drawn.max()) if len(drawn) else 0.0
    png, same = draw_comparison(
        points,
        step0,
        metric,
        step0_metric,
        arms.header,
        plot_title(metric, tokens, furthest),
        out / f"{prefix}{FIGURE}",
        threshold=threshold,
        warning=choice.warning,
    )
    notes = [
        f"{arms.header}={arm}: its {metric} line is {same_as(f'{arms.header}={other}', gap)} "
        "(the figure draws it with its own line style and marker)"
        for arm, (other, gap) in same.items()
    ]
    missing = [arm for arm in dict.fromkeys(arms.labels) if arm not in set(step0["arm"])]
    if missing:
        notes.append(f"no step-0 {step0_metric} logged (validate_before_fit off?): "
                     + ", ".join(f"{arms.header}={a}" for a in missing))  # fmt: skip
    return [png, curves_csv, step0_csv], notes
