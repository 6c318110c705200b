"""``bailong-compare``: initial-loss comparison of a sweep's jobs (PNG + Markdown/CSV table).

bailong-compare logs/train/multiruns/2026-11-22_10-00-00 --tokens 20000 --threshold 6.5
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bailong.analysis.compare import plot_curves, summarize
from bailong.analysis.runs import find_jobs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bailong-compare", description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a Hydra multirun (or run) directory")
    p.add_argument("--tokens", type=float, default=float("inf"), help="first N tokens to compare")
    p.add_argument("--threshold", type=float, default=None, help="loss to reach (tokens-to-X)")
    p.add_argument("--metric", default="train/loss")
    p.add_argument("--smooth", type=int, default=1, help="rolling-mean window over log steps")
    p.add_argument("--out", type=Path, default=None, help="output dir (default: RUN_DIR/compare)")
    return p.parse_args(argv)


def print_table(frame) -> None:
    table = Table(show_lines=False)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    Console().print(table)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.run_dir.is_dir():
        raise SystemExit(f"bailong-compare: {args.run_dir} is not a directory")
    jobs = find_jobs(args.run_dir)
    if not jobs:
        raise SystemExit(
            f"bailong-compare: no Hydra jobs (.hydra/overrides.yaml) under {args.run_dir}"
        )
    out = args.out or args.run_dir / "compare"
    out.mkdir(parents=True, exist_ok=True)
    frame = summarize(jobs, args.tokens, args.threshold, args.metric, args.smooth)
    frame.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(
        frame.to_markdown(index=False, floatfmt=".4g") + "\n", encoding="utf-8"
    )
    png = plot_curves(jobs, args.tokens, out / "loss_vs_tokens.png", args.metric, args.smooth)
    print_table(frame)
    failed = [j for j in jobs if j.failed]
    for job in failed:
        print(f"FAILED job {job.label}: {job.failure}")
    for job in jobs:
        if problem := job.metrics_problem:
            print(f"DAMAGED metrics of job {job.label}: {problem}")
    print(f"wrote {png}, {out / 'summary.md'}, {out / 'summary.csv'}")


if __name__ == "__main__":
    main()
