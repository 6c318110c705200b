"""Table and figure of the step-0 measurements (``step0.py``'s JSON lines).

    python -m experiments.init_beyond_paper.summarize RESULTS_DIR STEP0_JSONL [MORE_JSONL ...]

Writes ``step0.md`` (bits per character per group, zh = the mean of the two Chinese groups,
Δ zh against ``zeros``, the initialization's CPU seconds) and ``step0.png`` (zh against the
initialization's CPU seconds, one point per arm), sorted by zh.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("jsonl", type=Path, nargs="+", help="step0.py outputs; later files win")
    args = parser.parse_args()
    frames = [pd.read_json(path, lines=True) for path in args.jsonl if path.is_file()]
    table = pd.concat(frames).drop_duplicates("arm", keep="last")
    table = table.set_index("arm").sort_values("zh")
    if "zeros" in table.index:
        table["zh_vs_zeros"] = table["zh"] - table.loc["zeros", "zh"]
    columns = ["zh_poems", "zh_modern", "zh", "en", "zh_vs_zeros", "init_cpu_s", "init_wall_s"]
    table = table[[c for c in columns if c in table]]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "step0.md").write_text(
        "Held-out bits per character before training (lower is better); zh = mean of the two "
        "Chinese groups; init_cpu_s = process CPU seconds of the initialization.\n\n"
        + table.to_markdown(floatfmt=".3f")
        + "\n",
        encoding="utf-8",
    )
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(table["init_cpu_s"] + 0.1, table["zh"])
    for arm, row in table.iterrows():
        ax.annotate(str(arm), (row["init_cpu_s"] + 0.1, row["zh"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("CPU seconds of the initialization (+0.1, log scale)")
    ax.set_ylabel("held-out zh bits/char at step 0 (lower is better)")
    ax.set_title("zh_byte_base_23m + 27,241 tokens: step 0 against initialization cost")
    fig.tight_layout()
    fig.savefig(args.results / "step0.png", dpi=120)
    print(table.to_markdown(floatfmt=".3f"))


if __name__ == "__main__":
    main()
