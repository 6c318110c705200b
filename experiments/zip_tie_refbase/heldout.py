"""Held-out text of the reference base (models/zh_byte_base_23m/README.md), as probe files.

    python -m experiments.zip_tie_refbase.heldout OUT_DIR [--chars 12000]

Writes ``zh_poems.txt``, ``zh_modern.txt`` and ``en.txt`` (documents separated by blank lines,
the probe's ``.txt`` format), each cut to ``--chars`` characters, only from text the base never
saw: the base README's held-out poems file; DRCD's last 40 articles and the last 10% of the
non-empty lines of each cc0 sentence file (one line more is skipped at each 90% cut, so a
rounding difference cannot leak a training line); the last 20% of ``wiki_demo.txt`` (again
one line more skipped) and ``tinyshakespeare.txt``. Documents are taken round-robin from the
sources of a group and cut to 1,500 characters, so a cut keeps every source represented.
"""

from __future__ import annotations

import argparse
import json
from itertools import chain, zip_longest
from pathlib import Path

from bailong.core.shared_data import shared_data_dir

BASE = "models/zh_byte_base_23m"


def _tail_lines(path: Path, keep_from: float) -> list[str]:
    lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return lines[int(len(lines) * keep_from) + 1 :]


def _paragraphs(path: Path, size: int) -> list[str]:
    """Consecutive lines joined into documents of about ``size`` characters."""
    docs, current = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        current = f"{current}\n{line}" if current else line
        if len(current) >= size:
            docs.append(current.strip())
            current = ""
    return docs + ([current.strip()] if current.strip() else [])


def poems(data: Path) -> list[str]:
    return [
        x.strip()
        for x in (data / BASE / "heldout_zh_poems.txt").open(encoding="utf-8")
        if x.strip()
    ]


def modern(data: Path) -> list[str]:
    zh = data / "corpora/zh_tw"
    articles = json.loads((zh / "drcd_dev.json").read_text(encoding="utf-8"))["data"][-40:]
    drcd = [p["context"].strip() for a in articles for p in a["paragraphs"]]
    cc0 = ["\n".join(_tail_lines(f, 0.9)) for f in sorted((zh / "cc0_sentences").glob("*.txt"))]
    return _round_robin([drcd, [c for c in cc0 if c]])


def english(data: Path) -> list[str]:
    en = data / "corpora/en"
    wiki = _tail_lines(en / "wiki_demo.txt", 0.8)
    return _round_robin([wiki, _paragraphs(en / "tinyshakespeare.txt", 1000)])


def _round_robin(groups: list[list[str]]) -> list[str]:
    return [d for d in chain.from_iterable(zip_longest(*groups)) if d]


def cut(docs: list[str], chars: int, per_doc: int = 1_500) -> list[str]:
    """The first ``chars`` characters, each document cut to its first ``per_doc``."""
    out, budget = [], chars
    for doc in docs:
        if budget <= 0:
            break
        out.append(doc[: min(budget, per_doc)].strip())
        budget -= len(out[-1])
    return out


def shared_data_or_exit(parser: argparse.ArgumentParser) -> Path:
    """The shared data folder, or the script's usage error saying how to point at it."""
    data = shared_data_dir()
    if data is None:
        parser.error("shared data not found: set BAILONG_SHARED_DATA to the shared/data folder")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--chars", type=int, default=12_000, help="characters per file")
    args = parser.parse_args()
    data = shared_data_or_exit(parser)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, docs in (
        ("zh_poems", poems(data)),
        ("zh_modern", modern(data)),
        ("en", english(data)),
    ):
        docs = cut(docs, args.chars)
        (args.out_dir / f"{name}.txt").write_text("\n\n".join(docs) + "\n", encoding="utf-8")
        print(f"{args.out_dir / name}.txt: {len(docs)} documents, {sum(map(len, docs))} chars")


if __name__ == "__main__":
    main()
