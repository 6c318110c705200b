"""Causal-LM data module: documents → held-out split → tokenized → packed blocks.

Train batches come from a ``StatefulDataLoader`` so a checkpoint taken mid-epoch records the
exact data position and a resumed run sees the same batches the uninterrupted run would.
The split is by document (seeded), so validation text never leaks into training blocks.
"""

from __future__ import annotations

import random
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset
from torchdata.stateful_dataloader import StatefulDataLoader
from transformers import PreTrainedTokenizerBase

from bailong.config import DataConfig
from bailong.data.documents import read_documents, resolve_files
from bailong.data.pack import pack_documents


class BlockDataset(Dataset):
    """Packed blocks; each item is a dict the Hugging Face causal LM accepts directly."""

    def __init__(self, blocks: torch.Tensor) -> None:
        self.blocks = blocks

    def __len__(self) -> int:
        return self.blocks.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = self.blocks[index]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}


def split_documents(docs: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded document-level split; validation gets at least one document."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(docs) * val_fraction))
    val = [docs[i] for i in sorted(order[:n_val])]
    train = [docs[i] for i in sorted(order[n_val:])]
    return train, val


class CausalLMDataModule(L.LightningDataModule):
    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.seed = seed
        self.train_set: BlockDataset | None = None
        self.val_set: BlockDataset | None = None

    @property
    def files(self) -> list[Path]:
        return resolve_files(self.cfg.files)

    def _blocks(self, docs: list[str]) -> torch.Tensor:
        ids = self.tokenizer(docs, add_special_tokens=False)["input_ids"]
        return pack_documents(
            ids, self.cfg.block_size, self.tokenizer.bos_token_id, self.tokenizer.eos_token_id
        )

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        docs = [d for f in self.files for d in read_documents(f, self.cfg.text_field)]
        if len(docs) < 2:
            raise ValueError(
                f"data.files={self.cfg.files} hold {len(docs)} document(s); a train/validation "
                "split needs at least 2 (plain text separates documents by blank lines)"
            )
        train_docs, val_docs = split_documents(docs, self.cfg.val_fraction, self.seed)
        self.train_set = BlockDataset(self._blocks(train_docs))
        self.val_set = BlockDataset(self._blocks(val_docs))
        for name, data in (("training", self.train_set), ("validation", self.val_set)):
            if len(data) == 0:
                raise ValueError(
                    f"the {name} split has no full block of data.block_size="
                    f"{self.cfg.block_size} tokens; add text or lower data.block_size"
                )

    def train_dataloader(self) -> StatefulDataLoader:
        assert self.train_set is not None
        return StatefulDataLoader(
            self.train_set,
            batch_size=self.cfg.batch_size,
            shuffle=True,
            drop_last=True,
            num_workers=self.cfg.num_workers,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None
        # Its own generator: building an iterator otherwise draws from the global RNG, and how
        # often we validate would change the training run's dropout masks.
        return DataLoader(
            self.val_set,
            batch_size=self.cfg.batch_size,
            shuffle=False,
            generator=torch.Generator().manual_seed(self.seed),
        )
