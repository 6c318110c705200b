"""Text for training and evaluating the Chinese tokenizer: extraction, conversion, split.

The shared Traditional Chinese corpora come in three shapes (DRCD's SQuAD-style JSON, Tang
poems as JSON, and plain one-sentence-a-line files); each becomes a list of documents. The
held-out part is split by document before training, so the report measures compression on
text the tokenizer never saw.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path


def drcd_documents(path: Path) -> list[str]:
    """DRCD (SQuAD format): one document per paragraph context."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [para["context"] for article in data for para in article["paragraphs"]]


def poem_documents(path: Path) -> list[str]:
    """chinese-poetry JSON: one document per poem, its lines joined."""
    return ["".join(poem["paragraphs"]) for poem in json.loads(path.read_text(encoding="utf-8"))]


def line_documents(path: Path) -> list[str]:
    """A plain text file: one document per non-empty line."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def zh_tw_documents(root: Path) -> list[str]:
    """All documents of the shared ``corpora/zh_tw`` folder (DRCD, Tang poems, cc0 sentences)."""
    if not root.is_dir():
        raise FileNotFoundError(f"zh_tw corpus folder {root} does not exist")
    docs: list[str] = []
    if (drcd := root / "drcd_dev.json").is_file():
        docs += drcd_documents(drcd)
    for path in sorted((root / "tang_poems").glob("poet.tang.*.json")):
        docs += poem_documents(path)
    for path in sorted((root / "cc0_sentences").glob("*.txt")):
        docs += line_documents(path)
    if not docs:
        raise FileNotFoundError(f"no drcd_dev.json, tang_poems/ or cc0_sentences/ text in {root}")
    return docs


def to_traditional(docs: Iterable[str], config: str = "s2twp") -> list[str]:
    """Convert with OpenCC (``s2twp``: Simplified → Taiwan Traditional with Taiwan phrasing)."""
    from opencc import OpenCC

    converter = OpenCC(config)
    return [converter.convert(doc) for doc in docs]


def split_heldout(docs: Sequence[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(train, held-out) by a seeded shuffle of whole documents."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"held-out fraction {fraction} must lie in [0, 1)")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_held = round(len(docs) * fraction)
    return [docs[i] for i in order[n_held:]], [docs[i] for i in order[:n_held]]


def sample_lines(files: Iterable[Path], n: int, seed: int) -> list[str]:
    """A seeded sample of ``n`` non-empty lines (all of them when fewer) from ``files``."""
    lines = [line for path in files for line in line_documents(path)]
    if len(lines) <= n:
        return lines
    return random.Random(seed).sample(lines, n)


def write_lines(docs: Iterable[str], path: Path) -> Path:
    """One line per document line (SentencePiece reads a line as a sentence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for doc in docs:
            for line in doc.splitlines():
                if line.strip():
                    f.write(line.strip() + "\n")
    return path
