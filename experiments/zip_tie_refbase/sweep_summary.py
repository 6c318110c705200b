"""Tables and the figure of the reference-base QLoRA sweep (run_sweep.sh calls this).

    python -m experiments.zip_tie_refbase.sweep_summary SWEEP_DIR RESULTS_DIR

The summary code of the tiny study (experiments/zip_tie_tiny/study.py ``summarize``) with this
sweep's held-out sources: zh = both Chinese groups pooled (``heldout/bpc``: bits over all their
characters), poems and modern separately. Instead of a fixed threshold, every job's tokens to
reach the no-extension arm's level OF THE SAME SEED (same held-out documents): the unextended
base before training (``tokens_to_base``) and the no-extension arm after the whole budget
(``tokens_to_original_final``), for the pooled and each group's bits per character; with
``--threshold``, also the tokens to reach that fixed pooled level. ``paired.md``/``.csv``: each
method minus zip_tie on the same seed (same held-out documents), mean ± std over seeds, since
the seeds' held-out documents differ and their spread would hide a consistent gap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from experiments.zip_tie_tiny.study import Columns, mean_std, method_order, summarize

REFBASE = Columns(
    {
        "zh": "heldout/bpc",
        "poems": "heldout/zh_poems/bpc",
        "modern": "heldout/zh_modern/bpc",
    },
    target="zh",
)

REFERENCE = "zip_tie"


def paired(per_job: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per method, mean ± std over seeds of (method - REFERENCE) on the same seed."""
    ref = per_job[per_job["method"] == REFERENCE].set_index("seed")
    rows = []
    for method in method_order(set(per_job["method"]) - {REFERENCE}):
        own = per_job[per_job["method"] == method].set_index("seed")
        seeds = own.index.intersection(ref.index)
        row = {"method": method, "seeds": len(seeds)}
        row |= {
            f"{c} - {REFERENCE}": mean_std(own.loc[seeds, c] - ref.loc[seeds, c]) for c in columns
        }
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--threshold", type=float, help="a fixed zh bits/char to reach too")
    args = parser.parse_args()
    summarize(
        args.sweep_dir, args.results, float("inf"), args.threshold, columns=REFBASE, reference=True
    )
    per_job = pd.read_csv(args.results / "per_job.csv")
    diffs = paired(per_job, [f"{when}_{k}_bpc" for when in ("step0", "final") for k in REFBASE.bpc])
    diffs.to_csv(args.results / "paired.csv", index=False)
    text = (
        f"Bits per character of each method minus {REFERENCE}'s on the same seed (same held-out "
        "documents), mean ± std over seeds; negative = better than zip_tie.\n\n"
        + diffs.to_markdown(index=False)
    )
    (args.results / "paired.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
