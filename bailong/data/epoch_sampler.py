"""A shuffling sampler whose saved position is (epoch, indices yielded), restored exactly.

The training order is ``DistributedSampler``'s: a permutation drawn from (seed, epoch), this
rank's share of it. Saving only how far into it a run got (torchdata's
``StatefulDistributedSampler``, or the loader skipping batches) is not enough:

- a resumed run rebuilds the loader's iterator when Lightning restores the loader, before
  Lightning sets the epoch it resumes in, so a run resumed inside epoch 1 or later went on
  with epoch 0's order at the right position (other batches than the uninterrupted run);
- a checkpoint written on an epoch's last batch holds a used-up position; Lightning counts
  that epoch as finished and starts the next one on the restored (empty) iterator, so the
  next epoch ran no batch and the run went on one epoch late.

Here the epoch is saved with the position, a used-up position is the next epoch's start,
and the saved pair decides the order of the first pass after a restore.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DistributedSampler

EPOCH_KEY, YIELDED_KEY = "epoch", "yielded"


class EpochStatefulSampler(DistributedSampler):
    """``DistributedSampler`` with a ``state_dict`` that ``StatefulDataLoader`` saves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_epoch = self.epoch  # the epoch of the order being yielded
        self.yielded = 0
        self.resume_at: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[int]:
        # A generator: the order is drawn at the first index, after Lightning's set_epoch;
        # an iterator built and dropped unused (Lightning builds one while restoring) takes
        # nothing from a restored position.
        if self.resume_at is not None:
            self.epoch, start = self.resume_at
            self.resume_at = None
        else:
            start = 0
        self.order_epoch, self.yielded = self.epoch, start
        for index in itertools.islice(super().__iter__(), start, None):
            self.yielded += 1
            yield index

    def state_dict(self) -> dict[str, Any]:
        epoch, yielded = self.resume_at or (self.order_epoch, self.yielded)
        return {EPOCH_KEY: epoch, YIELDED_KEY: yielded}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        epoch, yielded = int(state_dict[EPOCH_KEY]), int(state_dict[YIELDED_KEY])
        if yielded >= self.num_samples:  # that epoch was used up: the next one starts
            epoch, yielded = epoch + 1, 0
        self.resume_at = (epoch, yielded)
        self.set_epoch(epoch)
