"""Training blocks cut from the sources' token streams, drawn by exact token share.

Each source's stream is cut into ``block_size`` windows (the ``group_texts`` convention, one
source per block); source *i* supplies ``q_i`` blocks, the largest-remainder rounding of
``weight_i × blocks``, so every realized share is within ``1 / blocks`` of its target. A
source that needs more blocks than it holds is read again (its windows run on into the next
pass: ``passes`` counts them); without ``data.train_items`` the mix ends where the first
source runs out, as one pass over the corpus. The sources' blocks are interleaved evenly
(block *k* of source *i* sits at ``(k + ½) / q_i`` of the order) so any stretch of the
unshuffled order, such as the first validation batches, holds every source at its share.

A block is read from the memory-mapped store only when it is indexed: a DDP rank whose
sampler holds a disjoint set of indices reads only its own blocks.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from bailong.data.pack import SizedDataset
from bailong.data.token_stream import TokenStream


def block_quotas(
    tokens: list[int], weights: list[float], block_size: int, n_blocks: int | None
) -> list[int]:
    """Blocks per source: exactly ``n_blocks`` in all, or (None) one pass to the first end."""
    total = sum(weights)
    if total == 0:  # no source has one block (a validation split of a tiny corpus)
        return [0] * len(weights)
    shares = [w / total for w in weights]
    if n_blocks is None:
        n = min(t // block_size / s for t, s in zip(tokens, shares, strict=True) if s > 0)
        return [math.floor(s * n + 1e-9) for s in shares]
    exact = [s * n_blocks for s in shares]
    quotas = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: quotas[i] - exact[i])
    for i in by_remainder[: n_blocks - sum(quotas)]:
        quotas[i] += 1
    return quotas


def interleaved_order(quotas: list[int]) -> np.ndarray:
    """Source-major block positions in the even interleaving (uint32 while they fit)."""
    keys = np.concatenate([(np.arange(q) + 0.5) / q for q in quotas if q > 0] or [np.zeros(0)])
    order = np.argsort(keys, kind="stable")
    return order.astype(np.uint32 if len(order) < 1 << 32 else np.int64)


class StoreBlocks(SizedDataset):
    """Blocks over memory-mapped streams; items are what the HF causal LM takes directly.

    ``mask_documents``: ``position_ids`` restart at every document start in the block and no
    ``attention_mask`` is given, which transformers' Llama reads (with no KV cache: the
    collate adds ``use_cache=False``) as a block-diagonal causal mask, as in SFT packing.
    """

    def __init__(
        self,
        streams: list[TokenStream],
        quotas: list[int],
        block_size: int,
        mask_documents: bool = False,
    ) -> None:
        self.streams = streams
        self.quotas = quotas
        self.block_size = block_size
        self.mask_documents = mask_documents
        self.first = np.concatenate([[0], np.cumsum(quotas)]).astype(np.int64)
        self.order = interleaved_order(quotas)

    def __len__(self) -> int:
        return int(self.first[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """``(source, block of that source)`` of the ``index``-th block."""
        if not 0 <= index < len(self):
            raise IndexError(f"block {index} of {len(self)}")
        position = int(self.order[index])
        source = int(np.searchsorted(self.first, position, side="right")) - 1
        return source, position - int(self.first[source])

    def passes(self) -> list[int]:
        """How many passes over each source the blocks take (the last one partial)."""
        return [
            math.ceil(q * self.block_size / s.tokens) if q else 0
            for q, s in zip(self.quotas, self.streams, strict=True)
        ]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        source, k = self.locate(index)
        stream, start = self.streams[source], k * self.block_size
        ids = torch.from_numpy(stream.window(start, self.block_size).astype(np.int64))
        if not self.mask_documents:
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
        return {"input_ids": ids, "labels": ids, "position_ids": self.positions(stream, start)}

    def positions(self, stream: TokenStream, start: int) -> torch.Tensor:
        """0, 1, 2, … restarting at each document start (a block's first token is one too)."""
        starts = stream.document_starts(start, self.block_size)
        marks = np.zeros(self.block_size, dtype=np.int64)
        marks[starts] = 1
        marks[0] = 1
        segment_start = np.maximum.accumulate(np.where(marks == 1, np.arange(self.block_size), 0))
        return torch.from_numpy(np.arange(self.block_size) - segment_start)
