"""Fitting text for the corpus initializers, disjoint from every held-out text of the study.

    python -m experiments.init_beyond_paper.fittext OUT_FILE [--chars 300000]

``token_distillation`` and ``output=corpus_logprob`` read snippets around each new token from
TRAINING text. Here that is text of the reference base's own training mix or text no part of
the study scores (models/zh_byte_base_23m/README.md): the Tang poems under
``corpora/zh_tw/tang_poems`` (never seen by the base, never scored), DRCD's articles but the
last 40 and the first 90% of the lines of each cc0 sentence file (the base's modern training
text: ``heldout.py`` scores only past the 90% cut, one line more skipped), and the first 80%
of ``wiki_demo.txt`` (English). ``--chars`` characters per group, taken round-robin from its
sources, written as one ``.txt`` of blank-line-separated documents.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from experiments.zip_tie_refbase.heldout import _round_robin, cut, shared_data_or_exit


def _head_lines(path: Path, keep_to: float) -> list[str]:
    lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[: int(len(lines) * keep_to)]


def poems(data: Path) -> list[str]:
    out = []
    for path in sorted((data / "corpora/zh_tw/tang_poems").glob("*.json")):
        out += ["".join(p["paragraphs"]) for p in json.loads(path.read_text(encoding="utf-8"))]
    return [p for p in out if p]


def modern(data: Path) -> list[str]:
    zh = data / "corpora/zh_tw"
    articles = json.loads((zh / "drcd_dev.json").read_text(encoding="utf-8"))["data"][:-40]
    drcd = [p["context"].strip() for a in articles for p in a["paragraphs"]]
    cc0 = ["\n".join(_head_lines(f, 0.9)) for f in sorted((zh / "cc0_sentences").glob("*.txt"))]
    return _round_robin([drcd, [c for c in cc0 if c]])


def english(data: Path) -> list[str]:
    return _head_lines(data / "corpora/en/wiki_demo.txt", 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_file", type=Path)
    parser.add_argument("--chars", type=int, default=300_000, help="characters per group")
    args = parser.parse_args()
    data = shared_data_or_exit(parser)
    groups = [cut(g(data), args.chars) for g in (poems, modern, english)]
    docs = _round_robin(groups)
    args.out_file.parent.mkdir(parents=True, exist_ok=True)
    args.out_file.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    print(f"{args.out_file}: {len(docs)} documents, {sum(map(len, docs))} chars")


if __name__ == "__main__":
    main()
