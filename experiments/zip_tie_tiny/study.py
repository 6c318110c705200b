"""Helpers of the zip-tie study (run_study.sh calls them): held-out text and the results table.

    python -m experiments.zip_tie_tiny.study heldout OUT_DIR [overrides...]
    python -m experiments.zip_tie_tiny.study summarize SWEEP_DIR RESULTS_DIR --threshold 3.0

``heldout`` writes the sweep's held-out documents (the seeded validation split of each mix
source, cut as the heldout_bpc callback cuts them) as zh.txt / en.txt for bailong-probe-init,
so the probe scores the same characters as the training runs' step-0 point.
``summarize`` reads every job's metrics.csv and writes per_job.csv, summary.csv and
summary.md: mean ± std over seeds of held-out bits per character at step 0, after the token
budget, and the tokens needed to reach a threshold; and the mean ± std curves as a PNG.
Other sweeps reuse ``summarize`` with their own :class:`Columns` and, instead of or beside a
fixed threshold, the no-extension arm's own level per seed (experiments/zip_tie_refbase).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from bailong.analysis.runs import find_jobs
from bailong.cli.conf_dir import conf_dir
from bailong.core.run_files import METRICS_CSV
from bailong.training.heldout_bpc import heldout_texts
from bailong.training.validate import validate_train_config

ZH, EN = "zh_wiki_drcd", "en_wiki"  # the sweep mix's sources (conf/experiment/zip_tie_tiny_*)
ORIGINAL = "none (original tokenizer)"
METHOD_ORDER = ["zip_tie", "subword_mean", "mean", "random", ORIGINAL]


def write_heldout(out_dir: Path, overrides: list[str]) -> None:
    with initialize_config_dir(config_dir=conf_dir(), version_base="1.3"):
        cfg = compose("train", ["experiment=zip_tie_tiny_original", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out_dir)  # no Hydra run here to resolve it
    settings = validate_train_config(cfg)
    texts = heldout_texts(
        settings.data, settings.seed, settings.callbacks.heldout_bpc.max_chars_per_source
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, file in ((ZH, "zh.txt"), (EN, "en.txt")):
        (out_dir / file).write_text("\n\n".join(texts[name]) + "\n", encoding="utf-8")
        print(f"{out_dir / file}: {len(texts[name])} documents, {sum(map(len, texts[name]))} chars")


def override(job_overrides: list[str], key: str) -> str | None:
    for item in job_overrides:
        if item.startswith(f"{key}="):
            return item.split("=", 1)[1]
    return None


@dataclass(frozen=True)
class Columns:
    """Which metrics.csv columns a sweep reports: label -> column; ``target`` is thresholded."""

    bpc: dict[str, str]
    target: str

    @property
    def target_column(self) -> str:
        return self.bpc[self.target]


TINY = Columns({"zh": f"heldout/{ZH}/bpc", "en": f"heldout/{EN}/bpc"}, target="zh")


def method_of(overrides: list[str]) -> str:
    return override(overrides, "embedding_init") or ORIGINAL


def bpc_rows(path: Path) -> pd.DataFrame:
    """The held-out rows of one job's metrics.csv, by tokens seen (step 0 at 0 tokens)."""
    rows = pd.read_csv(path / METRICS_CSV)
    return rows[rows["heldout/bpc"].notna()].sort_values("train/tokens_seen")


def job_row(path: Path, overrides: list[str], budget: float, columns: Columns) -> dict:
    """One job's held-out bits/char at step 0 and at the budget (last point within it)."""
    bpc = bpc_rows(path)
    first, at_budget = bpc.iloc[0], bpc[bpc["train/tokens_seen"] <= budget].iloc[-1]
    row = {"method": method_of(overrides), "seed": int(override(overrides, "seed") or 0)}
    # NaN when the seed's split left a source without validation documents
    row |= {f"step0_{k}_bpc": float(first.get(c, math.nan)) for k, c in columns.bpc.items()}
    row["tokens"] = at_budget["train/tokens_seen"]
    row |= {f"final_{k}_bpc": float(at_budget.get(c, math.nan)) for k, c in columns.bpc.items()}
    return row


def tokens_to(path: Path, column: str, threshold: float) -> float:
    """Tokens seen at the first held-out point at or below ``threshold`` (NaN: never)."""
    bpc = bpc_rows(path)
    hit = bpc[bpc[column] <= threshold]
    return hit["train/tokens_seen"].iloc[0] if len(hit) else math.nan


def curve(path: Path, column: str) -> pd.Series:
    """One held-out bits/char column indexed by tokens seen."""
    return bpc_rows(path).set_index("train/tokens_seen")[column].groupby(level=0).last()


def plot_means(
    jobs: list, out_png: Path, columns: Columns, lines: dict[str, float], title: str
) -> None:
    """Mean ± std over seeds of the target's curve, one line per method; ``lines``: label ->
    a horizontal reference line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for method in method_order({method_of(j.overrides) for j in jobs}):
        curves = [
            curve(j.path, columns.target_column) for j in jobs if method_of(j.overrides) == method
        ]
        frame = pd.concat(curves, axis=1)
        mean, std = frame.mean(axis=1), frame.std(axis=1, ddof=1).fillna(0.0)
        ax.plot(mean.index, mean, marker="o", markersize=3, label=f"{method} (n={len(curves)})")
        ax.fill_between(mean.index, mean - std, mean + std, alpha=0.2)
    for label, value in lines.items():
        ax.axhline(value, color="gray", linestyle=":", linewidth=1, label=label)
    ax.set_xlabel("training tokens seen")
    ax.set_ylabel(f"held-out {columns.target} bits per character")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


def method_order(methods: set[str]) -> list[str]:
    """METHOD_ORDER first, then any other method by name."""
    known = [m for m in METHOD_ORDER if m in methods]
    return known + sorted(methods - set(known))


def reference_thresholds(jobs: list, per_job: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """Per seed and reported column, the no-extension arm's bits/char before training (the
    unextended base) and at the end of its budget; every job's tokens to reach each (its own
    seed's): columns ``tokens_to_base_<label>`` and ``tokens_to_original_final_<label>``."""
    ref = per_job[per_job["method"] == ORIGINAL].set_index("seed")
    out = per_job.copy()
    for label, column in columns.bpc.items():
        for name, col in (("base", f"step0_{label}_bpc"), ("original_final", f"final_{label}_bpc")):
            out[f"tokens_to_{name}_{label}"] = [
                tokens_to(j.path, column, ref[col].get(seed, math.nan))
                for j, seed in zip(jobs, per_job["seed"], strict=True)
            ]
    return out


def summarize(
    sweep_dir: Path,
    results: Path,
    budget: float,
    threshold: float | None,
    columns: Columns = TINY,
    reference: bool = False,
) -> pd.DataFrame:
    """per_job.csv, summary.csv/.md and the mean ± std figure. Tokens to reach a fixed
    ``threshold`` (column tokens_to_threshold) and/or, with ``reference``, to reach the
    no-extension arm's level of the same seed (:func:`reference_thresholds`)."""
    jobs = [j for j in find_jobs(sweep_dir) if (j.path / METRICS_CSV).is_file()]
    jobs.sort(key=lambda j: (method_of(j.overrides), int(override(j.overrides, "seed") or 0)))
    per_job = pd.DataFrame([job_row(j.path, j.overrides, budget, columns) for j in jobs])
    reached: dict[str, str] = {}
    if threshold is not None:
        per_job["tokens_to_threshold"] = [
            tokens_to(j.path, columns.target_column, threshold) for j in jobs
        ]
        reached["tokens_to_threshold"] = f"tokens_to_{columns.target}_bpc_{threshold:g}"
    if reference:
        per_job = reference_thresholds(jobs, per_job, columns)
        reached |= {
            c: c for c in per_job.columns if c.startswith(("tokens_to_base", "tokens_to_original"))
        }
    results.mkdir(parents=True, exist_ok=True)
    per_job.to_csv(results / "per_job.csv", index=False)
    rows = []
    for method in method_order(set(per_job["method"])):
        group = per_job[per_job["method"] == method]
        row = {"method": method, "seeds": len(group)}
        for col in per_job.columns:
            if col.startswith(("step0_", "final_")):
                row[col] = mean_std(group[col].dropna())
        for col, label in reached.items():
            hit = group[col].dropna()
            row[label] = f"{mean_std(hit, '.0f')} ({len(hit)}/{len(group)} reached)"
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary.to_csv(results / "summary.csv", index=False)
    budget_tokens = int(per_job["tokens"].max())
    names = ", ".join(f"{k} = {c}" for k, c in columns.bpc.items())
    header = (
        f"Held-out bits per character ({names}), mean ± std over seeds; final = after "
        f"{budget_tokens:,} training tokens.\n\n"
    )
    (results / "summary.md").write_text(
        header + summary.to_markdown(index=False) + "\n", encoding="utf-8"
    )
    print(header + summary.to_markdown(index=False))
    lines = {} if threshold is None else {f"threshold {threshold:g}": threshold}
    if reference and (ORIGINAL in set(per_job["method"])):
        base = per_job.loc[per_job["method"] == ORIGINAL, f"step0_{columns.target}_bpc"].mean()
        lines[f"unextended base, before training ({base:.2f})"] = base
    plot_means(
        jobs,
        results / "heldout_zh_bpc_mean_std.png",
        columns,
        lines,
        "Held-out bits/char, mean ± std over seeds",
    )
    return summary


def mean_std(values: pd.Series, fmt: str = ".3f") -> str:
    if len(values) == 0:
        return "–"
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {std:{fmt}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    held = sub.add_parser("heldout")
    held.add_argument("out_dir", type=Path)
    held.add_argument("overrides", nargs="*")
    summ = sub.add_parser("summarize")
    summ.add_argument("sweep_dir", type=Path)
    summ.add_argument("results", type=Path)
    summ.add_argument("--budget", type=float, default=math.inf, help="tokens (default: all)")
    summ.add_argument("--threshold", type=float, required=True, help="zh bits/char to reach")
    args = parser.parse_args()
    if args.command == "heldout":
        write_heldout(args.out_dir, args.overrides)
    else:
        summarize(args.sweep_dir, args.results, args.budget, args.threshold)


if __name__ == "__main__":
    main()
