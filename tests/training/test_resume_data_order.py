"""The training loader restored from any position goes on with the uninterrupted run's batches,
restored the way Lightning restores it: state loaded, iterator built, and only then the epoch
set (a position inside epoch >= 1 went on with epoch 0's order; a position at an epoch's last
batch, which Lightning counts as that epoch finished, went on with no batch at all)."""

from __future__ import annotations

import pytest
import torch
from lightning.fabric.utilities.data import _set_sampler_epoch

from bailong.data.config import DataConfig
from bailong.data.datamodule import BlockDataset, CausalLMDataModule

ITEMS, BATCH, EPOCHS = 24, 8, 3  # 3 batches an epoch


def loader():  # type: ignore[no-untyped-def]
    """The data module's real training loader over 24 numbered blocks."""
    data = CausalLMDataModule(DataConfig(batch_size=BATCH), tokenizer=None, seed=42)  # type: ignore[arg-type]
    data.train_set = BlockDataset(torch.arange(ITEMS * 4).view(ITEMS, 4))
    return data.train_dataloader()


def first_items(batch: dict[str, torch.Tensor]) -> list[int]:
    return batch["input_ids"][:, 0].tolist()


def uninterrupted() -> tuple[list[list[int]], list[dict]]:
    """Every batch of 3 epochs, and the loader's saved state after each."""
    dl, batches, states = loader(), [], []
    for epoch in range(EPOCHS):
        _set_sampler_epoch(dl, epoch)  # what Lightning does as each epoch starts
        for batch in dl:
            batches.append(first_items(batch))
            states.append(dl.state_dict())
    return batches, states


@pytest.mark.parametrize("done", range(1, EPOCHS * ITEMS // BATCH))
def test_a_restored_loader_goes_on_with_the_same_batches(done: int) -> None:
    batches, states = uninterrupted()
    dl = loader()
    dl.load_state_dict(states[done - 1])
    iterator = iter(dl)  # Lightning builds the iterator while restoring ...
    _set_sampler_epoch(dl, done // (ITEMS // BATCH))  # ... then sets the epoch it resumes in
    got = [first_items(b) for b in iterator]
    epoch_end = -(-done // (ITEMS // BATCH)) * (ITEMS // BATCH)
    if done == epoch_end:  # the state was saved on the epoch's last batch: the next epoch
        epoch_end += ITEMS // BATCH
    assert got == batches[done:epoch_end]
