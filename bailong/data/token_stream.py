"""One split of one tokenized source as a flat, memory-mapped token stream.

A store split is a ``datasets`` Arrow file with one row per document (``<s> ids </s>``).
Arrow keeps a list column as one flat values buffer plus offsets per record batch, so the
concatenation of every document (the HF ``group_texts`` stream) is already on disk: this view
holds zero-copy numpy views of those buffers and cuts windows out of them. Nothing is read
until a window is asked for, and then only the pages under it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from datasets import Dataset


class TokenStream:
    """The documents of one split as one endless stream (passes repeat it)."""

    def __init__(self, path: Path) -> None:
        table = Dataset.from_file(str(path)).data  # memory-mapped; raises on a damaged file
        self.chunks: list[np.ndarray] = []  # token ids per record batch (views of the map)
        self.doc_starts: list[np.ndarray] = []  # document starts within each chunk
        self.docs = 0
        starts = [0]
        for chunk in table.column("input_ids").chunks:
            if len(chunk) == 0:
                continue
            offsets = chunk.offsets.to_numpy()
            values = chunk.values.to_numpy(zero_copy_only=True)
            self.chunks.append(values[offsets[0] : offsets[-1]])
            self.doc_starts.append(offsets[:-1] - offsets[0])
            self.docs += len(chunk)
            starts.append(starts[-1] + int(offsets[-1] - offsets[0]))
        self.chunk_starts = np.asarray(starts, dtype=np.int64)

    @property
    def tokens(self) -> int:
        return int(self.chunk_starts[-1])

    def _pieces(self, start: int, length: int) -> Iterator[tuple[int, int, int, int]]:
        """``(chunk, offset in chunk, count, offset in window)`` covering the window."""
        if self.tokens == 0:
            raise ValueError("an empty token stream has no windows")
        pos, done = start % self.tokens, 0
        while done < length:
            c = int(np.searchsorted(self.chunk_starts, pos, side="right")) - 1
            local = pos - int(self.chunk_starts[c])
            take = min(length - done, len(self.chunks[c]) - local)
            yield c, local, take, done
            done += take
            pos = (pos + take) % self.tokens

    def window(self, start: int, length: int) -> np.ndarray:
        """Tokens ``[start, start + length)`` of the stream repeated end to end."""
        out = np.empty(length, dtype=self.chunks[0].dtype)
        for c, local, take, at in self._pieces(start, length):
            out[at : at + take] = self.chunks[c][local : local + take]
        return out

    def document_starts(self, start: int, length: int) -> np.ndarray:
        """Offsets within the window ``[start, start + length)`` where a document begins."""
        found = []
        for c, local, take, at in self._pieces(start, length):
            starts = self.doc_starts[c]
            lo, hi = np.searchsorted(starts, [local, local + take])
            found.append(starts[lo:hi] - local + at)
        return np.concatenate(found)
