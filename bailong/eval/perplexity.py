"""Perplexity and bits per character of a causal LM on held-out text.

Per-token perplexity depends on the tokenizer: a tokenizer with more (longer) pieces spends
fewer, harder predictions on the same text, so an extended-vocabulary model cannot be
compared with its base by token perplexity. Bits per character divides the same total
negative log-likelihood by the number of characters instead, which both models share.

Every token of a document is predicted exactly once: the document is encoded with BOS, and
windows of ``block_size`` tokens overlap by one token, so each window's first token is only
context (it was the last prediction target of the previous window).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import PreTrainedTokenizerBase

from bailong.core.progress import progress
from bailong.data.heldout import read_heldout


def bits_per_character(total_nll_nats: float, n_chars: int) -> float:
    """Total negative log-likelihood (natural log) of a text → bits per character of it."""
    if n_chars <= 0:
        raise ValueError(f"n_chars={n_chars}: bits per character needs a non-empty text")
    return total_nll_nats / math.log(2) / n_chars


@dataclass
class TextScore:
    """Summed NLL over a text, with the counts that normalize it."""

    nll: float = 0.0  # nats, summed over predicted tokens
    tokens: int = 0  # predicted tokens
    chars: int = 0  # characters of the scored documents

    def add(self, other: TextScore) -> None:
        self.nll += other.nll
        self.tokens += other.tokens
        self.chars += other.chars

    def as_dict(self) -> dict[str, float]:
        mean = self.nll / max(self.tokens, 1)
        return {
            "bits_per_char": bits_per_character(self.nll, self.chars),
            "ppl": math.exp(min(mean, 700.0)),
            "nll_per_token": mean,
            "tokens": float(self.tokens),
            "chars": float(self.chars),
            "chars_per_token": self.chars / max(self.tokens, 1),
        }


def windows(ids: list[int], block_size: int) -> Iterator[list[int]]:
    """Windows of at most ``block_size`` ids overlapping by one, covering every target once."""
    if block_size < 2:
        raise ValueError(f"block_size={block_size}: a window needs a context and a target")
    step = block_size - 1
    for start in range(0, max(len(ids) - 1, 1), step):
        yield ids[start : start + block_size]


def _batch_nll(model: torch.nn.Module, batch: list[list[int]], pad_id: int) -> float:
    """Summed NLL of tokens 1.. of each (right-padded) window."""
    width = max(len(w) for w in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(input_ids)
    for i, w in enumerate(batch):
        input_ids[i, : len(w)] = torch.tensor(w)
        mask[i, : len(w)] = 1
    device = next(model.parameters()).device
    input_ids, mask = input_ids.to(device), mask.to(device)
    logits = model(input_ids=input_ids, attention_mask=mask).logits.float()
    targets = input_ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    loss = F.cross_entropy(logits[:, :-1].transpose(1, 2), targets, reduction="sum")
    return float(loss)


def document_windows(
    tokenizer: PreTrainedTokenizerBase, doc: str, block_size: int
) -> list[list[int]]:
    """The scoring windows of one document (BOS first, when the tokenizer has one)."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    ids = bos + list(tokenizer(doc, add_special_tokens=False)["input_ids"])
    return list(windows(ids, block_size)) if len(ids) >= 2 else []


@torch.no_grad()
def score_documents(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    documents: Iterable[str],
    block_size: int = 512,
    batch_size: int = 4,
    on_batch: Callable[[int], None] | None = None,
) -> TextScore:
    """NLL of every token of every document (each starts with BOS, which is not scored);
    ``on_batch(windows)`` is called after each scored batch (progress)."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    score = TextScore()
    pending: list[list[int]] = []

    def score_batch(batch: list[list[int]]) -> None:
        score.nll += _batch_nll(model, batch, pad_id)
        if on_batch is not None:
            on_batch(len(batch))

    for doc in documents:
        doc_windows = document_windows(tokenizer, doc, block_size)
        if not doc_windows:
            continue
        # windows overlap by one token: each window but the first adds len - 1 targets
        score.tokens += sum(len(w) - 1 for w in doc_windows)
        score.chars += len(doc)
        pending.extend(doc_windows)
        while len(pending) >= batch_size:
            score_batch(pending[:batch_size])
            pending = pending[batch_size:]
    if pending:
        score_batch(pending)
    return score


def perplexity_by_language(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    files: Mapping[str, Sequence[Path]],
    *,
    block_size: int = 512,
    batch_size: int = 4,
    max_chars: int | None = None,
    text_field: str = "text",
) -> dict[str, dict[str, float]]:
    """``{language: {bits_per_char, ppl, ...}}`` plus ``all`` over every language's text."""
    results: dict[str, dict[str, float]] = {}
    total = TextScore()
    docs = {
        (lang, str(path)): read_heldout(Path(path), text_field, max_chars)
        for lang, paths in files.items()
        for path in paths
    }
    total_windows = sum(
        len(document_windows(tokenizer, doc, block_size)) for d in docs.values() for doc in d
    )
    with progress("perplexity windows", total_windows) as bar:
        for lang, paths in files.items():
            score = TextScore()
            for path in paths:
                score.add(
                    score_documents(
                        model,
                        tokenizer,
                        docs[lang, str(path)],
                        block_size,
                        batch_size,
                        on_batch=partial(bar.update, note=lang),
                    )
                )
            results[lang] = score.as_dict()
            total.add(score)
    results["all"] = total.as_dict()
    return results
