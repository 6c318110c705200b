"""Interleave several item streams so each source gets its configured share of TOKENS.

A weight is a share of tokens, not of documents: a source of long Wikipedia articles and one
of short chat lines at 50/50 must contribute equal token counts. The mixer draws the next
source at random (seeded) with probability ``weight / mean item length`` (lengths measured
as items arrive), so each draw's expected token share equals the weight; and only sources
not ahead of their share may be drawn, which bounds any source's excess to one item, so a
few long documents cannot skew a short stream. Realized token counts per source are kept so
they can be checked against the spec.

Streams are opened lazily and read one item at a time, so nothing is materialized; a source
that runs out is reopened (another pass) when ``recycle`` is on, otherwise the mix ends there.
An empty source is an error, or (``skip_empty``) left out with the others' shares rescaled.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class MixStats:
    """Per-source target shares and realized counts (items, tokens, passes started)."""

    names: list[str]
    targets: list[float]
    items: list[int] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    passes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.names)
        self.items = self.items or [0] * n
        self.tokens = self.tokens or [0] * n
        self.passes = self.passes or [0] * n

    def shares(self) -> list[float]:
        total = sum(self.tokens)
        return [t / total if total else 0.0 for t in self.tokens]

    def rows(self) -> list[dict[str, object]]:
        """One row per source: name, target share, realized share, tokens, items, passes."""
        return [
            {
                "source": name,
                "target": target,
                "realized": share,
                "tokens": tokens,
                "items": items,
                "passes": passes,
            }
            for name, target, share, tokens, items, passes in zip(
                self.names,
                self.targets,
                self.shares(),
                self.tokens,
                self.items,
                self.passes,
                strict=True,
            )
        ]


def normalize(weights: Sequence[float]) -> list[float]:
    total = float(sum(weights))
    if not weights or total <= 0 or any(w <= 0 for w in weights):
        raise ValueError(f"mix weights must be positive, got {list(weights)}")
    return [w / total for w in weights]


class TokenMixer(Generic[T]):
    """Iterate ``(source index, item)`` pairs drawn by token share; see the module docstring."""

    def __init__(
        self,
        names: Sequence[str],
        openers: Sequence[Callable[[], Iterator[T]]],
        weights: Sequence[float],
        length: Callable[[T], int],
        seed: int,
        recycle: bool,
        skip_empty: bool = False,
    ) -> None:
        if not len(names) == len(openers) == len(weights):
            raise ValueError("names, openers and weights must have the same length")
        self.openers = list(openers)
        self.length = length
        self.seed = seed
        self.recycle = recycle
        self.skip_empty = skip_empty  # e.g. a small source with no document in validation
        self.stats = MixStats(list(names), normalize(weights))

    def _open(self, i: int) -> Iterator[T]:
        self.stats.passes[i] += 1
        return iter(self.openers[i]())

    def _next(self, i: int, streams: list[Iterator[T]]) -> T | None:
        """The next item of source ``i`` (reopening it once if recycling), None when done."""
        for attempt in range(2):
            item = next(streams[i], None)
            if item is not None:
                return item
            if not self.recycle or attempt == 1:
                break
            streams[i] = self._open(i)
        return None

    def __iter__(self) -> Iterator[tuple[int, T]]:
        rng = random.Random(self.seed)
        n = len(self.openers)
        self.stats = MixStats(self.stats.names, self.stats.targets)
        streams = [self._open(i) for i in range(n)]
        # One item of lookahead per source gives a length estimate before the first draw.
        pending = [self._next(i, streams) for i in range(n)]
        empty = [self.stats.names[i] for i in range(n) if pending[i] is None]
        if empty and not self.skip_empty:
            raise ValueError(f"data source(s) {empty} yield no items")
        active = [i for i in range(n) if pending[i] is not None]
        if not active:
            return
        seen_tokens = [float(self.length(p)) if p is not None else 0.0 for p in pending]
        seen_items = [1] * n
        total_weight = sum(self.stats.targets[i] for i in active)
        targets = [self.stats.targets[i] / total_weight for i in range(n)]
        while True:
            total = sum(self.stats.tokens)
            # Only sources at or below their share may be drawn (one always is: the deficits
            # sum to zero), so no source runs ahead by more than one item.
            behind = [i for i in active if targets[i] * total >= self.stats.tokens[i]]
            probs = [targets[i] * seen_items[i] / max(seen_tokens[i], 1.0) for i in behind]
            i = rng.choices(behind, weights=probs)[0]
            item = pending[i]
            assert item is not None
            size = self.length(item)
            self.stats.items[i] += 1
            self.stats.tokens[i] += size
            yield i, item
            nxt = self._next(i, streams)
            if nxt is None:
                return
            pending[i] = nxt
            seen_tokens[i] += self.length(nxt)
            seen_items[i] += 1
