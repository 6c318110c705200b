"""Tables and the figure of the reference-base QLoRA sweep (run_sweep.sh calls this).

    python -m experiments.zip_tie_refbase.sweep_summary SWEEP_DIR RESULTS_DIR

The summary code of the tiny study (experiments/zip_tie_tiny/study.py ``summarize``) with this
sweep's held-out sources: zh = both Chinese groups pooled (``heldout/bpc``: bits over all their
characters), poems and modern separately. Instead of a fixed threshold, every job's tokens to
reach the no-extension arm's level OF THE SAME SEED (same held-out documents): the unextended
base before training (``tokens_to_base``) and the no-extension arm after the whole budget
(``tokens_to_original_final``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.zip_tie_tiny.study import Columns, summarize

REFBASE = Columns(
    {
        "zh": "heldout/bpc",
        "poems": "heldout/zh_poems/bpc",
        "modern": "heldout/zh_modern/bpc",
    },
    target="zh",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    summarize(args.sweep_dir, args.results, float("inf"), None, columns=REFBASE, reference=True)


if __name__ == "__main__":
    main()
