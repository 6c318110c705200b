"""Table of the new_rows study: held-out bits per character per arm at each scored point.

    python -m experiments.new_rows_refbase.summarize RUNS_DIR RESULTS_DIR

Reads ``<arm>_s<seed>/csv/metrics.csv`` of each run (heldout_bpc rows: step, tokens seen,
pooled and per-source bits per character) and writes ``per_point.csv`` and ``summary.md``
(first and last scored point of every run, and new_rows − full at the last common point).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

COLUMNS = ["heldout/zh_poems/bpc", "heldout/zh_modern/bpc", "heldout/en/bpc", "heldout/bpc"]


def points(run: Path) -> pd.DataFrame:
    metrics = pd.read_csv(run / "csv" / "metrics.csv")
    scored = metrics.dropna(subset=["heldout/bpc"])[["step", *COLUMNS]]
    tokens = metrics.dropna(subset=["train/tokens_seen"]).groupby("step")["train/tokens_seen"].max()
    scored = scored.assign(tokens=[0 if s == 0 else int(tokens.get(s, 0)) for s in scored.step])
    arm, seed = run.name.rsplit("_s", 1)
    return scored.assign(arm=arm, seed=int(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path)
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    table = pd.concat(points(r) for r in sorted(args.runs.iterdir()) if (r / "csv").is_dir())
    args.results.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.results / "per_point.csv", index=False)
    names = {c: c.split("/")[1] if c.count("/") == 2 else "pooled" for c in COLUMNS}
    last = table.groupby(["arm", "seed"]).step.max().min()  # the last point every run reached
    ends = table[table.step.isin([0, last])].rename(columns=names)
    lines = [ends.round(3).to_markdown(index=False), ""]
    at_last = ends[ends.step == last].set_index(["seed", "arm"])[list(names.values())]
    if {"new_rows", "full"} <= set(at_last.index.get_level_values("arm")):
        diff = at_last.xs("new_rows", level="arm") - at_last.xs("full", level="arm")
        lines += [f"new_rows − full at step {last} (bits per character):", ""]
        lines += [diff.round(3).to_markdown(), ""]
    (args.results / "summary.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
