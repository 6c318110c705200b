"""Tables and a figure from the reference-base probes (run_study.sh calls this).

    python -m experiments.zip_tie_refbase.summarize STUDY_DIR RESULTS_DIR

Reads ``STUDY_DIR/probe_<group>/probe_init.json`` for the held-out Chinese groups (the same
held-out English is scored in each run; the numbers must agree, and are checked to), and
writes ``results.csv``, ``results.md`` (bits per character per group, the Chinese mean, and
the change from the unextended base) and ``bits_per_char.png``. zh = the mean of the two
Chinese groups' bits per character (they hold the same number of characters, so this is the
bits per character of both together). The zip-tie reading with the lowest zh is marked.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

GROUPS = ("zh_poems", "zh_modern")


def load(study: Path) -> pd.DataFrame:
    frames = []
    for group in GROUPS:
        rows = json.loads((study / f"probe_{group}" / "probe_init.json").read_text())
        frame = pd.DataFrame(rows).set_index("method")
        frames.append(
            frame[["target_bits_per_char", "english_bits_per_char"]].rename(
                columns={"target_bits_per_char": group, "english_bits_per_char": f"en_{group}"}
            )
        )
    table = pd.concat(frames, axis=1)
    gap = (table["en_zh_poems"] - table["en_zh_modern"]).abs().max()
    if gap > 1e-6:
        raise SystemExit(f"the two runs' English bits/char differ by {gap}: not the same text?")
    table = table.drop(columns="en_zh_modern").rename(columns={"en_zh_poems": "en"})
    table["zh"] = table[list(GROUPS)].mean(axis=1)
    for column in ("zh", "en"):
        table[f"{column}_vs_original"] = table[column] - table.loc["original", column]
    return table[["zh_poems", "zh_modern", "zh", "en", "zh_vs_original", "en_vs_original"]]


def zip_tie_rows(table: pd.DataFrame) -> pd.Index:
    """zip-tie readings: the variants named zt_* and subword_mean (= uniform/uniform)."""
    return table.index[table.index.str.startswith("zt_") | (table.index == "subword_mean")]


def figure(table: pd.DataFrame, path: Path) -> None:
    ordered = table.sort_values("zh", ascending=False)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(ordered) + 1.2))
    y = range(len(ordered))
    for offset, column in ((-0.27, "zh_poems"), (0.0, "zh_modern"), (0.27, "en")):
        ax.barh([i + offset for i in y], ordered[column], height=0.27, label=column)
    ax.set_yticks(list(y), ordered.index)
    ax.set_xlabel("held-out bits per character before training (lower is better)")
    ax.set_title("zh_byte_base_23m extended to 59,241 tokens: initial bits/char")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    table = load(args.study)
    args.results.mkdir(parents=True, exist_ok=True)
    for group in GROUPS:
        shutil.copy(
            args.study / f"probe_{group}" / "probe_init.json",
            args.results / f"probe_{group}.json",
        )
    table.to_csv(args.results / "results.csv", float_format="%.4f")
    best = table.loc[zip_tie_rows(table), "zh"].idxmin()
    marked = table.rename(index={best: f"**{best}** (lowest zh of the zip-tie readings)"})
    (args.results / "results.md").write_text(
        "Held-out bits per character before any training (lower is better); "
        "zh = mean of the two Chinese groups.\n\n" + marked.to_markdown(floatfmt=".3f") + "\n",
        encoding="utf-8",
    )
    figure(table, args.results / "bits_per_char.png")
    print(marked.to_markdown(floatfmt=".3f"))
    print(f"lowest-zh zip-tie reading: {best}; results in {args.results}")


if __name__ == "__main__":
    main()
