"""Causal-LM data module: sources → clean → seeded split → token store → token-share blocks.

Each source is tokenized once into an on-disk, memory-mapped token store
(:mod:`bailong.data.token_store`, reused by every later run, sweep arm and rank) and blocks
are cut from the stores by exact token share (:mod:`bailong.data.store_blocks`), so memory
does not grow with the corpus and a second run starts without tokenizing. Train batches come
from a ``StatefulDataLoader`` so a checkpoint taken mid-epoch records the exact data position
and a resumed run sees the same batches the uninterrupted run would. The split is per
document (seeded hash), so validation text never leaks into training blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import lightning as L
import torch
from torch.utils.data import DataLoader, default_collate
from torchdata.stateful_dataloader import StatefulDataLoader
from transformers import PreTrainedTokenizerBase

from bailong.data.config import DataConfig
from bailong.data.epoch_sampler import EpochStatefulSampler
from bailong.data.mix import MixStats, TokenMixer, normalize
from bailong.data.pack import SizedDataset, packed_collate
from bailong.data.sources import Source, SourceStats, configured_sources
from bailong.data.store_blocks import StoreBlocks, block_quotas
from bailong.data.token_store import TokenStore, token_store

log = logging.getLogger(__name__)

T = TypeVar("T")  # the item a source's stream yields (e.g. an SFT example)


class BlockDataset(SizedDataset):
    """Packed blocks; each item is a dict the Hugging Face causal LM accepts directly."""

    def __init__(self, blocks: torch.Tensor) -> None:
        self.blocks = blocks

    def __len__(self) -> int:
        return self.blocks.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = self.blocks[index]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}


@dataclass
class DataReport:
    """What building a split did: the mix's target and realized token shares, per-source
    cleaning counts and skipped bad records. Shown by ``bailong-data`` and logged."""

    mix: MixStats
    sources: dict[str, SourceStats] = field(default_factory=dict)
    items: int = 0  # blocks (pretrain) or examples (sft) produced
    stores: dict[str, TokenStore] = field(default_factory=dict)  # pretrain: by source name

    def log(self, split: str) -> None:
        for row in self.mix.rows():
            log.info("%s mix %s", split, row)
        for name, stats in self.sources.items():
            log.info(
                "%s source %s cleaning=%s bad=%s",
                split,
                name,
                dict(stats.cleaning),
                dict(stats.bad),
            )


def mix_sources(
    sources: list[Source],
    stream: Callable[[Source, SourceStats], Iterator[T]],
    length: Callable[[T], int],
    seed: int,
    recycle: bool,
    skip_empty: bool,
) -> tuple[TokenMixer[T], dict[str, SourceStats]]:
    """A token-share mixer over one lazy stream per source, with each source's counters."""
    stats = {s.name: SourceStats() for s in sources}
    openers = [partial(stream, s, stats[s.name]) for s in sources]
    names = [s.name for s in sources]
    weights = [s.cfg.weight for s in sources]
    mixer = TokenMixer(names, openers, weights, length, seed, recycle, skip_empty)
    return mixer, stats


def pretrain_stores(
    cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int
) -> dict[str, TokenStore]:
    """Each source's token store, built where missing (read only as far as the mix needs)."""
    sources = configured_sources(cfg)
    shares = normalize([s.cfg.weight for s in sources])
    stores = {}
    for src, share in zip(sources, shares, strict=True):
        need = None
        if cfg.train_items is not None:  # its blocks' tokens (+1 block: quotas round up)
            need = (int(share * cfg.train_items) + 1) * cfg.block_size
        stores[src.name] = token_store(src, cfg, tokenizer, seed, need)
    return stores


def pretrain_blocks(
    cfg: DataConfig,
    tokenizer: PreTrainedTokenizerBase,
    seed: int,
    split: str,
    stores: dict[str, TokenStore] | None = None,
) -> tuple[StoreBlocks, DataReport]:
    """The blocks of ``split`` and the report of how the mix realized its shares.

    Training draws ``cfg.train_items`` blocks (re-reading sources as needed) or, when that is
    unset, stops when the first source runs out; validation always makes one pass, leaving
    out a source with less than one block of validation text. ``stores``: already opened.
    """
    sources = configured_sources(cfg)
    stores = stores or pretrain_stores(cfg, tokenizer, seed)
    streams = [stores[s.name].streams[split] for s in sources]
    weights = [s.cfg.weight for s in sources]
    names = [s.name for s in sources]
    if split == "val":
        long_enough = [st.tokens >= cfg.block_size for st in streams]
        weights = [w if ok else 0.0 for w, ok in zip(weights, long_enough, strict=True)]
    else:
        empty = [n for n, st in zip(names, streams, strict=True) if st.tokens == 0]
        if empty:
            raise ValueError(f"data source(s) {empty} yield no items")
    n_blocks = cfg.train_items if split == "train" else None
    quotas = block_quotas([st.tokens for st in streams], weights, cfg.block_size, n_blocks)
    mask = cfg.document_boundaries == "mask"
    blocks = StoreBlocks(streams, quotas, cfg.block_size, mask_documents=mask)
    stats = MixStats(names, normalize([s.cfg.weight for s in sources]))
    stats.items = list(quotas)
    stats.tokens = [q * cfg.block_size for q in quotas]
    stats.passes = blocks.passes()
    report = DataReport(stats, {n: stores[n].source_stats() for n in names}, len(blocks), stores)
    return blocks, report


class CausalLMDataModule(L.LightningDataModule):
    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.seed = seed
        self.train_set: SizedDataset | None = None
        self.val_set: SizedDataset | None = None
        self.reports: dict[str, DataReport] = {}
        self.stores: dict[str, TokenStore] | None = None  # pretraining: opened once
        self.collate_fn: Callable[[list[dict]], dict[str, torch.Tensor]] = default_collate

    def prepare_data(self) -> None:
        """Build missing token stores once, before the ranks open them (Lightning calls this
        on one process per node, then synchronizes). The step-0 ``validate`` and ``fit`` each
        call it: the stores opened by the first call serve the second."""
        if self.cfg.kind == "pretrain" and self.stores is None:
            self.stores = pretrain_stores(self.cfg, self.tokenizer, self.seed)

    def build_split(self, split: str) -> SizedDataset:
        self.stores = self.stores or pretrain_stores(self.cfg, self.tokenizer, self.seed)
        blocks, report = pretrain_blocks(self.cfg, self.tokenizer, self.seed, split, self.stores)
        self.reports[split] = report
        if self.cfg.document_boundaries == "mask":
            self.collate_fn = packed_collate
        return blocks

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        self.train_set = self.build_split("train")
        self.val_set = self.build_split("val")
        for name, data in (("training", self.train_set), ("validation", self.val_set)):
            if len(data) == 0:
                raise ValueError(
                    f"the {name} split is empty (data.kind={self.cfg.kind}: no full block of "
                    f"data.block_size={self.cfg.block_size} tokens, or no conversation); add "
                    "data or lower data.block_size (plain text separates documents by blank lines)"
                )
        if len(self.train_set) < self.cfg.batch_size:  # drop_last: not one training batch
            raise ValueError(
                f"data.batch_size={self.cfg.batch_size} is larger than the training split "
                f"({len(self.train_set)} items): no training batch would run; lower it or add data"
            )
        for split, report in self.reports.items():
            report.log(split)

    def train_dataloader(self) -> StatefulDataLoader:
        assert self.train_set is not None
        # One process: a sampler seeded by (seed, epoch) too. The loader's own shuffle draws
        # from a generator that a loader restored mid-epoch advances differently, so a run
        # resumed in epoch 0 trained epoch 1 on other batches
        # (tests/training/test_resume_epochs.py).
        sampler = self.rank_shard_sampler() or EpochStatefulSampler(
            self.train_set, num_replicas=1, rank=0, shuffle=True, seed=self.seed, drop_last=True
        )
        return StatefulDataLoader(
            self.train_set,
            batch_size=self.cfg.batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.cfg.num_workers,
            # only seeds worker processes now; without it that seed comes from the global RNG
            generator=torch.Generator().manual_seed(self.seed),
            collate_fn=self.collate_fn,
        )

    def rank_shard_sampler(self) -> EpochStatefulSampler | None:
        """This rank's shard of the training set when several processes train; else None.

        Lightning would otherwise wrap the loader's own (stateful) random sampler in a
        distributed wrapper that has no state, and a resumed run would draw a new permutation.
        ``DistributedSampler``'s order follows from the seed and epoch alone, so the loader
        resumes by skipping the batches it already yielded: every rank gets the same batches as
        in the uninterrupted run, and no two ranks share a block.
        """
        trainer = self.trainer
        if trainer is None or trainer.world_size == 1:
            return None
        return EpochStatefulSampler(
            self.train_set,
            num_replicas=trainer.world_size,
            rank=trainer.global_rank,
            shuffle=True,
            seed=self.seed,
            drop_last=True,
        )

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None
        # Its own generator: building an iterator otherwise draws from the global RNG, and how
        # often we validate would change the training run's dropout masks.
        return DataLoader(
            self.val_set,
            batch_size=self.cfg.batch_size,
            shuffle=False,
            collate_fn=self.collate_fn,
            generator=torch.Generator().manual_seed(self.seed),
        )
