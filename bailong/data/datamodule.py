"""Causal-LM data module: sources → clean → seeded split → token-share mix → packed blocks.

Train batches come from a ``StatefulDataLoader`` so a checkpoint taken mid-epoch records the
exact data position and a resumed run sees the same batches the uninterrupted run would.
The split is per document (seeded hash), so validation text never leaks into training
blocks. The mix is streamed: sources are read one document at a time and only the blocks a
run asks for (``data.train_items``) are kept, so a corpus larger than memory can feed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, default_collate
from torchdata.stateful_dataloader import StatefulDataLoader
from transformers import PreTrainedTokenizerBase

from bailong.data.config import DataConfig
from bailong.data.epoch_sampler import EpochStatefulSampler
from bailong.data.mix import MixStats, TokenMixer
from bailong.data.pack import pack_stream, wrap_document
from bailong.data.sources import Source, SourceStats, configured_sources, documents

log = logging.getLogger(__name__)
TOKENIZE_BATCH = 64


class BlockDataset(Dataset):
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


def batched_token_ids(
    texts: Iterator[str], tokenizer: PreTrainedTokenizerBase
) -> Iterator[list[int]]:
    """Tokenize a lazy text stream a batch at a time (fast tokenizers work per batch)."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == TOKENIZE_BATCH:
            yield from tokenizer(batch, add_special_tokens=False)["input_ids"]
            batch = []
    if batch:
        yield from tokenizer(batch, add_special_tokens=False)["input_ids"]


def mix_sources(
    sources: list[Source],
    stream: Callable[[Source, SourceStats], Iterator],
    length: Callable[[object], int],
    seed: int,
    recycle: bool,
    skip_empty: bool,
) -> tuple[TokenMixer, dict[str, SourceStats]]:
    """A token-share mixer over one lazy stream per source, with each source's counters."""
    stats = {s.name: SourceStats() for s in sources}
    openers = [partial(stream, s, stats[s.name]) for s in sources]
    names = [s.name for s in sources]
    weights = [s.cfg.weight for s in sources]
    mixer = TokenMixer(names, openers, weights, length, seed, recycle, skip_empty)
    return mixer, stats


def pretrain_blocks(
    cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int, split: str
) -> tuple[torch.Tensor, DataReport]:
    """The packed blocks of ``split`` and the report of how the mix realized its shares.

    Training draws ``cfg.train_items`` blocks (re-reading sources as needed) or, when that is
    unset, stops when the first source runs out; validation always makes one pass.
    """
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id

    def stream(src: Source, stats: SourceStats) -> Iterator[list[int]]:
        texts = (text for _, text in documents(src, cfg, stats, split, seed))
        for ids in batched_token_ids(texts, tokenizer):
            doc = wrap_document(ids, bos, eos)
            # Mix in pieces of at most one block: a 50k-token article drawn whole would
            # overshoot its source's share by 50k tokens; a block never sees more context.
            for start in range(0, len(doc), cfg.block_size):
                yield doc[start : start + cfg.block_size]

    recycle = split == "train" and cfg.train_items is not None
    sources = configured_sources(cfg)
    val = split == "val"  # a small source may have no validation document: leave it out
    mixer, stats = mix_sources(sources, stream, len, seed + val, recycle, skip_empty=val)
    limit = cfg.train_items if split == "train" else None
    blocks, block_tokens = pack_stream(mixer, cfg.block_size, len(sources), limit)
    mixer.stats.tokens = block_tokens  # shares as they ended up in whole blocks
    return blocks, DataReport(mixer.stats, stats, blocks.shape[0])


class CausalLMDataModule(L.LightningDataModule):
    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.seed = seed
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.reports: dict[str, DataReport] = {}
        self.collate_fn: Callable[[list[dict]], dict[str, torch.Tensor]] = default_collate

    def build_split(self, split: str) -> Dataset:
        blocks, report = pretrain_blocks(self.cfg, self.tokenizer, self.seed, split)
        self.reports[split] = report
        return BlockDataset(blocks)

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
        # resumed in epoch 0 trained epoch 1 on other batches (tests/test_resume_epochs.py).
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
