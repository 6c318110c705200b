"""Pack token streams into fixed-length rows.

Pretraining: each document is wrapped as ``<s> … </s>`` and the stream is cut into
``block_size`` pieces, so no padding is wasted; the ragged tail is dropped.

Pretraining blocks from the token store (:mod:`bailong.data.store_blocks`) follow the same
layout; with ``data.document_boundaries=mask`` their ``position_ids`` restart at each document.

SFT: whole conversations are placed into rows without splitting any; ``position_ids``
restart at 0 for every conversation. transformers' masking reads a restart in
``position_ids`` (with no 2-D attention mask and no KV cache, hence ``use_cache=False`` in
the SFT collate) as a sequence boundary and builds a block-diagonal causal mask, so no token
attends across conversations; labels of prompts and padding are -100 so no loss crosses
them either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import Dataset, default_collate

IGNORE_INDEX = -100


class SizedDataset(Dataset):
    """A map-style dataset of rows that knows its length, as every split here does (torch's
    ``Dataset`` declares no ``__len__``; the empty-split checks and the samplers need it)."""

    def __len__(self) -> int:
        raise NotImplementedError


def packed_collate(rows: list[dict[str, torch.Tensor]]) -> dict[str, Any]:
    """Stack rows that carry ``position_ids`` (and no attention mask) for the HF Llama.

    ``use_cache=False``: transformers only reads a packed layout from ``position_ids`` when it
    has no KV cache, and it creates one by default even in training, in which case attention
    would silently cross the packed sequences.
    """
    return {**default_collate(rows), "use_cache": False}


def wrap_document(ids: list[int], bos_id: int | None, eos_id: int) -> list[int]:
    return ([bos_id] if bos_id is not None else []) + list(ids) + [eos_id]


def pack_stream(
    items: Iterable[tuple[int, list[int]]], block_size: int, n_sources: int, max_blocks: int | None
) -> tuple[torch.Tensor, list[int]]:
    """Blocks from ``(source, ids)`` items, and how many block tokens each source supplied.

    Reading stops as soon as ``max_blocks`` blocks are full, so a lazy stream is only read
    as far as needed.
    """
    blocks: list[list[int]] = []
    counts = [0] * n_sources
    current: list[int] = []
    pending = [0] * n_sources  # tokens of the unfinished block, by source
    for source, ids in items:
        start = 0
        while start < len(ids):
            take = min(block_size - len(current), len(ids) - start)
            current.extend(ids[start : start + take])
            pending[source] += take
            start += take
            if len(current) == block_size:
                blocks.append(current)
                counts = [c + p for c, p in zip(counts, pending, strict=True)]
                current, pending = [], [0] * n_sources
                if max_blocks is not None and len(blocks) >= max_blocks:
                    return _as_tensor(blocks, block_size), counts
    return _as_tensor(blocks, block_size), counts


def _as_tensor(blocks: list[list[int]], block_size: int) -> torch.Tensor:
    return torch.tensor(blocks, dtype=torch.long).view(len(blocks), block_size)


def pack_documents(
    token_ids: Iterable[list[int]], block_size: int, bos_id: int | None, eos_id: int
) -> torch.Tensor:
    """A ``(n_blocks, block_size)`` int64 tensor of the concatenated, delimited documents."""
    items = ((0, wrap_document(ids, bos_id, eos_id)) for ids in token_ids)
    return pack_stream(items, block_size, 1, None)[0]


def pack_examples(
    examples: Iterable[tuple[list[int], list[int]]], block_size: int, pad_id: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Rows of whole ``(input_ids, labels)`` examples, first-fit in order, position ids reset.

    Every example must already fit in ``block_size`` (SFT truncation guarantees it).
    """
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []

    def row() -> dict[str, torch.Tensor]:
        pad = block_size - len(ids)
        return {
            "input_ids": torch.tensor(ids + [pad_id] * pad, dtype=torch.long),
            "labels": torch.tensor(labels + [IGNORE_INDEX] * pad, dtype=torch.long),
            # The padding is its own "sequence" (positions restart), so it attends to nothing real.
            "position_ids": torch.tensor(positions + list(range(pad)), dtype=torch.long),
        }

    for ex_ids, ex_labels in examples:
        if len(ex_ids) > block_size:
            raise ValueError(f"an example of {len(ex_ids)} tokens exceeds block_size={block_size}")
        if ex_labels and ex_labels[0] != IGNORE_INDEX:
            raise ValueError("an example's first label must be -100 so packing cannot leak loss")
        if len(ids) + len(ex_ids) > block_size:
            yield row()
            ids, labels, positions = [], [], []
        ids.extend(ex_ids)
        # An example's first label is -100 (its prompt), so the shifted next-token loss never
        # asks the last token of one example to predict the first token of the next.
        labels.extend(ex_labels)
        positions.extend(range(len(ex_ids)))
    if ids:
        yield row()
