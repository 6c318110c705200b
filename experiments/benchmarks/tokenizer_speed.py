"""Time the two tokenizer-extension stages: training the Chinese BPE model, merging its pieces.

Uses the same calls as ``bailong-extend-tokenizer`` with its default settings (30,000-piece
byte-fallback BPE on the shared zh_tw corpora, then an append-only merge of up to 27,241 CJK
pieces into Llama 2's 32,000). Training runs ``--train-repeats`` times (it dominates the wall
time); the merge runs ``--repeats`` times. Reports medians against the merge target of 5 s.

    PYTHONPATH=. python experiments/benchmarks/tokenizer_speed.py [--repeats 5 --train-repeats 1]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bailong.tokenizer.corpus import split_heldout, write_lines, zh_tw_documents
from bailong.tokenizer.merge import merge_sentencepiece
from bailong.tokenizer.train import train_sentencepiece
from experiments.benchmarks.bench_common import markdown_table, median, report, timed

MERGE_TARGET_S = 5.0
ADDED = 27_241
SPM_VOCAB = 30_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-repeats", type=int, default=1)
    args = parser.parse_args()
    from bailong.core.shared_data import shared_path

    base = shared_path("tokenizers/llama2/tokenizer.model")
    corpus = shared_path("corpora/zh_tw")
    if base is None or corpus is None:
        raise SystemExit("needs shared data: tokenizers/llama2/tokenizer.model, corpora/zh_tw")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_docs, _ = split_heldout(zh_tw_documents(corpus), 0.05, 0)
        train_file = write_lines(train_docs, work / "train_zh.txt")
        size_mb = train_file.stat().st_size / 2**20
        addition = work / "addition.model"
        train_times = [
            timed(lambda: train_sentencepiece([train_file], work / "addition", SPM_VOCAB))
            for _ in range(args.train_repeats)
        ]
        results = []

        def merge() -> None:
            results.append(
                merge_sentencepiece(
                    base, addition, work / "merged.model", cjk_only=True, max_added=ADDED
                )
            )

        merge_times = [timed(merge) for _ in range(args.repeats)]
    added = results[-1].added
    train_s, merge_s = median(train_times), median(merge_times)
    table = markdown_table(
        ["stage", "seconds (median)", "runs", "target", "ratio (target / measured)", "met"],
        [
            [
                f"train {SPM_VOCAB:,}-piece zh BPE ({size_mb:.1f} MiB text)",
                f"{train_s:.1f}",
                " ".join(f"{t:.1f}" for t in train_times),
                "-",
                "-",
                "-",
            ],
            [
                f"merge {added:,} pieces into Llama 2 (32,000 → {32_000 + added:,})",
                f"{merge_s:.3f}",
                " ".join(f"{t:.3f}" for t in merge_times),
                f"<= {MERGE_TARGET_S:.0f} s",
                f"{MERGE_TARGET_S / merge_s:.0f}x",
                "yes" if merge_s <= MERGE_TARGET_S else "no",
            ],
        ],
    )
    notes = [f"{len(train_docs):,} training documents from shared corpora/zh_tw (95% split)"]
    report("tokenizer_speed", "Tokenizer extension speed", table, notes)


if __name__ == "__main__":
    main()
