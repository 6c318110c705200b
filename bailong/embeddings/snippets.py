"""Snippets of fitting text around each new token, as the base model can read them.

The corpus methods (``token_distillation``, ``output=corpus_logprob``) need each new token in
real contexts. The fitting text (``embedding_init.fit.files``: training text, never the
held-out text) is tokenized once with the extended tokenizer; for every new token up to
``snippets`` occurrences are sampled (seeded), among the ``max_tokens`` new tokens
most frequent there. A snippet keeps ``tokens_before`` tokens of context before the occurrence
and ``tokens_after`` after it, with every OTHER new token expanded to its original pieces, so
the base reads the whole snippet in its own vocabulary: ``<s> prefix PIECES suffix`` (the
teacher's view) or ``<s> prefix NEW suffix`` (the student's, one new row).

Working on token ids, not text offsets, keeps this one tokenizer pass: the expansion of a new
token is exactly the pieces its rows are built from (``InitContext.pieces``).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

from bailong.data.heldout import read_heldout
from bailong.embeddings.config import FitTextConfig


@dataclass(frozen=True)
class Snippet:
    row: int  # the new token's index among the new rows (token id - original vocabulary size)
    prefix: tuple[int, ...]  # original ids: <s> and the context before the token
    pieces: tuple[int, ...]  # the token's original pieces
    suffix: tuple[int, ...]  # original ids after the token

    def teacher(self) -> list[int]:
        return [*self.prefix, *self.pieces, *self.suffix]


def fitting_documents(cfg: FitTextConfig) -> list[str]:
    """The documents of ``cfg.files`` up to ``cfg.max_chars`` characters in all."""
    docs: list[str] = []
    budget = cfg.max_chars
    for name in cfg.files:
        if budget <= 0:
            break
        docs += read_heldout(Path(name).expanduser(), max_chars=budget)
        budget = cfg.max_chars - sum(map(len, docs))
    return docs


def collect_snippets(
    docs: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    pieces: Sequence[Sequence[int]],
    num_old: int,
    cfg: FitTextConfig,
    seed: int,
) -> list[Snippet]:
    """Snippets of the most frequent new tokens of ``docs`` (at most ``cfg.max_tokens`` of
    them), ordered by token then occurrence; ``pieces[i]`` are new row ``i``'s pieces."""
    assert tokenizer.bos_token_id is not None
    if not docs:  # no fitting text: every row keeps its start
        return []
    encoded = tokenizer(list(docs), add_special_tokens=False).input_ids

    def expand(ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for i in ids:
            out += [i] if i < num_old else pieces[i - num_old]
        return out

    where: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for d, ids in enumerate(encoded):
        for k, token in enumerate(ids):
            if token >= num_old and pieces[token - num_old]:
                where[token].append((d, k))
    ranked = sorted(where, key=lambda t: (-len(where[t]), t))[: cfg.max_tokens]
    rng = random.Random(seed)
    out = []
    for token in sorted(ranked):
        places = where[token]
        for d, k in sorted(rng.sample(places, min(cfg.snippets, len(places)))):
            ids = encoded[d]
            out.append(
                Snippet(
                    row=token - num_old,
                    prefix=(
                        tokenizer.bos_token_id,
                        *expand(ids[max(0, k - cfg.tokens_before) : k]),
                    ),
                    pieces=tuple(pieces[token - num_old]),
                    suffix=tuple(expand(ids[k + 1 : k + 1 + cfg.tokens_after])),
                )
            )
    return out


def padded(
    seqs: Sequence[Sequence[int]], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (pad 0) and their attention mask."""
    width = max(map(len, seqs))
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    mask = torch.zeros(len(seqs), width, dtype=torch.long)
    for i, seq in enumerate(seqs):
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(seq)] = 1
    return ids.to(device), mask.to(device)
