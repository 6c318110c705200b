"""Held-out text as documents: read by the perplexity evaluation, the step-0 probe and the
fitting-text snippets of the embedding initializations, so it lives with the data stage that
all of them stand on."""

from __future__ import annotations

import json
import math
from pathlib import Path


def read_heldout(path: Path, text_field: str = "text", max_chars: int | None = None) -> list[str]:
    """Documents of a held-out file (``.txt``: blank-line paragraphs; ``.jsonl``: a text
    field), cut to ``max_chars`` characters in total so evaluation time stays bounded."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such held-out text file")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        docs = [str(json.loads(line)[text_field]) for line in text.splitlines() if line.strip()]
    else:
        docs = text.split("\n\n")
    out, budget = [], max_chars if max_chars is not None else math.inf
    for doc in (d.strip() for d in docs):
        if not doc or budget <= 0:
            continue
        doc = doc[: int(min(budget, len(doc)))]
        budget -= len(doc)
        out.append(doc)
    if not out:
        raise ValueError(f"{path}: no text to score")
    return out
