"""Pack tokenized documents into fixed-length blocks for causal-LM pretraining.

Each document is wrapped as ``<s> … </s>`` and the stream is cut into ``block_size`` pieces,
so no padding is wasted; the ragged tail is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def pack_documents(
    token_ids: Iterable[list[int]], block_size: int, bos_id: int | None, eos_id: int
) -> torch.Tensor:
    """A ``(n_blocks, block_size)`` int64 tensor of the concatenated, delimited documents."""
    stream: list[int] = []
    for ids in token_ids:
        if bos_id is not None:
            stream.append(bos_id)
        stream.extend(ids)
        stream.append(eos_id)
    n_blocks = len(stream) // block_size
    return torch.tensor(stream[: n_blocks * block_size], dtype=torch.long).view(
        n_blocks, block_size
    )
