"""Helpers of the zip-tie study (run_study.sh calls them): held-out text and the results table.

    python -m experiments.zip_tie_tiny.study heldout OUT_DIR [overrides...]
    python -m experiments.zip_tie_tiny.study summarize SWEEP_DIR RESULTS_DIR --threshold 3.0

``heldout`` writes the sweep's held-out documents (the seeded validation split of each mix
source, cut as the heldout_bpc callback cuts them) as zh.txt / en.txt for bailong-probe-init,
so the probe scores the same characters as the training runs' step-0 point.
``summarize`` reads every job's metrics.csv and writes per_job.csv, summary.csv and
summary.md: mean ± std over seeds of held-out bits per character at step 0, after the token
budget, and the tokens needed to reach a threshold; and the mean ± std curves as a PNG.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from bailong.analysis.runs import find_jobs
from bailong.conf_dir import conf_dir
from bailong.config import validate_train_config
from bailong.run_files import METRICS_CSV
from bailong.training.heldout_bpc import heldout_texts

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


def job_row(path: Path, overrides: list[str], budget: float, threshold: float) -> dict:
    """One job's held-out bits/char at step 0 and at the budget, tokens to the threshold."""
    rows = pd.read_csv(path / METRICS_CSV)
    bpc = rows[rows["heldout/bpc"].notna()].sort_values("train/tokens_seen")
    first, at_budget = bpc.iloc[0], bpc[bpc["train/tokens_seen"] <= budget].iloc[-1]
    hit = bpc[bpc[f"heldout/{ZH}/bpc"] <= threshold]

    def at(row: pd.Series, source: str) -> float:
        # NaN when the seed's split left a source without validation documents
        return float(row.get(f"heldout/{source}/bpc", math.nan))

    return {
        "method": override(overrides, "embedding_init") or ORIGINAL,
        "seed": int(override(overrides, "seed") or 0),
        "step0_zh_bpc": at(first, ZH),
        "step0_en_bpc": at(first, EN),
        "tokens": at_budget["train/tokens_seen"],
        "final_zh_bpc": at(at_budget, ZH),
        "final_en_bpc": at(at_budget, EN),
        "tokens_to_threshold": hit["train/tokens_seen"].iloc[0] if len(hit) else math.nan,
    }


def zh_curve(path: Path) -> pd.Series:
    """Held-out zh bits/char indexed by tokens seen (raw rows: step 0 is at 0 tokens)."""
    rows = pd.read_csv(path / METRICS_CSV)
    rows = rows[rows["heldout/bpc"].notna()]
    return rows.set_index("train/tokens_seen")[f"heldout/{ZH}/bpc"].groupby(level=0).last()


def plot_means(jobs: list, per_job: pd.DataFrame, out_png: Path, threshold: float) -> None:
    """Mean ± std over seeds of the held-out zh bits/char curve, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for method in METHOD_ORDER:
        curves = [
            zh_curve(j.path)
            for j in jobs
            if (override(j.overrides, "embedding_init") or ORIGINAL) == method
        ]
        if not curves:
            continue
        frame = pd.concat(curves, axis=1)
        mean, std = frame.mean(axis=1), frame.std(axis=1, ddof=1).fillna(0.0)
        ax.plot(mean.index, mean, marker="o", markersize=3, label=f"{method} (n={len(curves)})")
        ax.fill_between(mean.index, mean - std, mean + std, alpha=0.2)
    ax.axhline(
        threshold, color="gray", linestyle=":", linewidth=1, label=f"threshold {threshold:g}"
    )
    ax.set_xlabel("training tokens seen")
    ax.set_ylabel(f"held-out {ZH} bits per character")
    ax.set_title("Held-out zh bits/char, mean ± std over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)


def summarize(sweep_dir: Path, results: Path, budget: float, threshold: float) -> pd.DataFrame:
    jobs = [j for j in find_jobs(sweep_dir) if (j.path / METRICS_CSV).is_file()]
    per_job = pd.DataFrame([job_row(j.path, j.overrides, budget, threshold) for j in jobs])
    per_job = per_job.sort_values(["method", "seed"]).reset_index(drop=True)
    results.mkdir(parents=True, exist_ok=True)
    per_job.to_csv(results / "per_job.csv", index=False)
    rows = []
    for method, group in sorted(per_job.groupby("method"), key=lambda g: METHOD_ORDER.index(g[0])):
        row = {"method": method, "seeds": len(group)}
        for col in ("step0_zh_bpc", "step0_en_bpc", "final_zh_bpc", "final_en_bpc"):
            row[col] = mean_std(group[col].dropna())
        reached = group["tokens_to_threshold"].dropna()
        row[f"tokens_to_zh_bpc_{threshold:g}"] = (
            f"{mean_std(reached, '.0f')} ({len(reached)}/{len(group)} reached)"
        )
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary.to_csv(results / "summary.csv", index=False)
    budget_tokens = int(per_job["tokens"].max())
    header = (
        f"Held-out bits per character (zh = {ZH}, en = {EN} validation documents), mean ± std "
        f"over seeds; final = after {budget_tokens:,} training tokens.\n\n"
    )
    (results / "summary.md").write_text(
        header + summary.to_markdown(index=False) + "\n", encoding="utf-8"
    )
    print(header + summary.to_markdown(index=False))
    plot_means(jobs, per_job, results / "heldout_zh_bpc_mean_std.png", threshold)
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
