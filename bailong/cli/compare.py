"""``bailong-compare``: compare the loss curves of a sweep's jobs (PNG + Markdown/CSV table).

    bailong-compare logs/ablate_embedding_init_tiny/multiruns/<time> --tokens 15000 --threshold 10.5

Nothing is extrapolated: a job that stopped before --tokens has an empty loss-at column and is
named in a note; a --tokens beyond every job is refused; jobs that never reached --threshold
are named with their lowest loss. The figure shows each arm's step-0 value (at 0 tokens)
beside its curve, and the points it draws are written beside it (curves.csv, step0.csv).
Arms with different tokenizers are compared in bits per character (heldout/bpc) when the
sweep logged them; a per-token loss across tokenizers is drawn with a warning naming them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bailong-compare",
        description=__doc__.split("\n\n")[0].strip("`").replace("``", ""),
        epilog="Writes RUN_DIR/compare/loss_vs_tokens.png with the points it draws (curves.csv, "
        "step0.csv), and summary.md, summary.csv.",
    )
    p.add_argument("run_dir", type=Path, help="a Hydra multirun (or run) directory")
    p.add_argument("--tokens", type=float, default=float("inf"), help="first N tokens to compare")
    p.add_argument("--threshold", type=float, default=None, help="loss to reach (tokens-to-X)")
    p.add_argument(
        "--metric",
        default=None,
        help="metric to compare (default: train/loss; heldout/bpc when the arms' tokenizers "
        "differ and it was logged)",
    )
    p.add_argument("--smooth", type=int, default=1, help="rolling-mean window over log steps")
    p.add_argument("--out", type=Path, default=None, help="output dir (default: RUN_DIR/compare)")
    return p.parse_args(argv)


def number(value: float | None, missing: str) -> str:
    """A table cell: ``missing`` (why it is empty) for NaN/None, ``end`` for no token limit."""
    if value is None or math.isnan(value):
        return missing
    if math.isinf(value):
        return "end"
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 100 else f"{value:.4g}"


def results_table(
    frame: pd.DataFrame, header: str, labels: list[str], args: argparse.Namespace, metric: str
) -> Table:
    """The summary as a terminal table that fits 80 columns: the job column shows only what
    differs between jobs, numbers are short, and empty cells say why they are empty."""
    from rich.table import Table

    from bailong.analysis.compare import REACHED, loss_column, threshold_column

    name = "loss" if metric == "train/loss" else metric  # what the last columns hold
    columns = [
        (REACHED, "tokens", "—"),
        ("step0_val_loss", "val loss\nstep 0", "—"),
        ("first_train_loss", f"first\n{name}", "—"),
        (loss_column(args.tokens), f"{name} at\n{number(args.tokens, '')} tok", "not reached"),
    ]
    if args.threshold is not None:
        key = threshold_column(args.threshold)
        columns.append((key, f"tokens to\n{args.threshold:g}", "never"))
    table = Table(show_lines=False, pad_edge=False)
    table.add_column(header, no_wrap=True)
    table.add_column("status")
    for _, title, _ in columns:
        table.add_column(title, justify="right")
    for label, row in zip(labels, frame.to_dict("records"), strict=True):
        table.add_row(label, row["status"], *[number(row[key], gap) for key, _, gap in columns])
    return table


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # here, not at the top: pandas and rich are a second of --help otherwise
    from rich.console import Console

    from bailong.analysis.compare import comparison_notes, furthest_tokens, summarize
    from bailong.analysis.comparison import choose_metric, write_figure
    from bailong.analysis.runs import find_jobs, sweep_arms, varying_keys

    if not args.run_dir.is_dir():
        raise SystemExit(f"bailong-compare: {args.run_dir} is not a directory")
    jobs = find_jobs(args.run_dir)
    if not jobs:
        raise SystemExit(
            f"bailong-compare: no Hydra jobs (.hydra/overrides.yaml) under {args.run_dir}"
        )
    arms = sweep_arms(jobs)
    choice = choose_metric(jobs, arms, args.metric)
    frame = summarize(jobs, args.tokens, args.threshold, choice.metric, args.smooth)
    furthest = furthest_tokens(frame)
    if not math.isinf(args.tokens) and not furthest >= args.tokens:
        reached = (
            "no job logged a curve"
            if math.isnan(furthest)
            else f"the longest reached {furthest:,.0f}; use --tokens {furthest:.0f} or less"
        )
        raise SystemExit(
            f"bailong-compare: --tokens {args.tokens:,.0f} is beyond every job: {reached}"
        )
    out = args.out or args.run_dir / "compare"
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(
        frame.to_markdown(index=False, floatfmt=".4g") + "\n", encoding="utf-8"
    )
    files, figure_notes = write_figure(
        jobs, arms, choice, out, args.tokens, args.smooth, args.threshold
    )
    header, labels = varying_keys(jobs)
    console = Console()
    console.print(results_table(frame, header, labels, args, choice.metric))
    notes = choice.notes + comparison_notes(frame, args.tokens, args.threshold) + figure_notes
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if choice.warning:
        console.print(f"WARNING: {choice.warning}", markup=False, highlight=False, soft_wrap=True)
    for job in jobs:
        if job.failed:
            console.print(
                f"FAILED job {job.label}: {job.failure}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    for job in jobs:
        if problem := job.metrics_problem:
            console.print(
                f"DAMAGED metrics of job {job.label}: {problem}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    print(f"wrote {', '.join(map(str, files))}, {out / 'summary.md'}, {out / 'summary.csv'}")


if __name__ == "__main__":
    main()
