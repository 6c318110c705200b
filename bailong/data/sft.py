"""SFT data: conversation sources → chat-rendered ``(input_ids, labels)`` → rows.

Sources (ShareGPT, OpenAI ``messages``, alpaca, and zh↔en translation pairs) are mixed by
token share exactly like pretraining text, so cross-lingual instructions can be given, say,
10% of the SFT tokens. Each conversation is truncated to ``data.block_size`` keeping whole
exchanges. Rows are either one conversation padded per batch, or (``data.chat.pack``) several
whole conversations per ``block_size`` row with restarting ``position_ids`` and no 2-D
attention mask, which the HF Llama turns into a block-diagonal causal mask.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import partial
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from bailong.data.chat import BadConversation, encode_conversation
from bailong.data.config import DataConfig
from bailong.data.datamodule import CausalLMDataModule, DataReport, mix_sources
from bailong.data.documents import BadRecords
from bailong.data.pack import IGNORE_INDEX, SizedDataset, pack_examples
from bailong.data.sources import Source, SourceStats, configured_sources, conversations

Example = tuple[list[int], list[int]]


class RowDataset(SizedDataset):
    def __init__(self, rows: list[dict[str, torch.Tensor]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.rows[index]


def pad_collate(rows: list[dict[str, torch.Tensor]], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch of single conversations to its longest; padding gets no loss.

    Packed rows are already ``block_size`` long. They go with ``use_cache=False``: the HF
    Llama only reads a packed layout from ``position_ids`` when it has no KV cache, and it
    creates one by default even in training, in which case attention would silently cross
    conversations (tests/data/test_data_sft.py checks both ways).
    """
    if "position_ids" in rows[0]:
        return {**torch.utils.data.default_collate(rows), "use_cache": False}
    width = max(len(r["input_ids"]) for r in rows)
    batch = {
        "input_ids": torch.full((len(rows), width), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros((len(rows), width), dtype=torch.long),
        "labels": torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long),
    }
    for i, row in enumerate(rows):
        n = len(row["input_ids"])
        batch["input_ids"][i, :n] = row["input_ids"]
        batch["attention_mask"][i, :n] = 1
        batch["labels"][i, :n] = row["labels"]
    return batch


def example_length(example: Example) -> int:
    return len(example[0])


def sft_examples(
    cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int, split: str
) -> tuple[list[Example], DataReport]:
    """The rendered examples of ``split`` in mixed order, and the mix report."""

    def stream(src: Source, stats: SourceStats) -> Iterator[Example]:
        bad = BadRecords(cfg.on_bad_record, stats.bad)
        for where, messages in conversations(src, cfg, stats, split, seed):
            try:
                yield encode_conversation(
                    messages, tokenizer, cfg.chat.template, cfg.block_size, cfg.chat.system_prompt
                )
            except BadConversation as err:
                bad(where, err.kind, err.detail)

    recycle = split == "train" and cfg.train_items is not None
    sources = configured_sources(cfg)
    val = split == "val"
    mixer, stats = mix_sources(sources, stream, example_length, seed + val, recycle, val)
    limit = cfg.train_items if split == "train" else None
    examples = [ex for _, ex in itertools.islice(mixer, limit)]
    return examples, DataReport(mixer.stats, stats, len(examples))


def sft_rows(
    examples: list[Example], cfg: DataConfig, pad_id: int
) -> list[dict[str, torch.Tensor]]:
    if cfg.chat.pack:
        return list(pack_examples(examples, cfg.block_size, pad_id))
    return [
        {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels)} for ids, labels in examples
    ]


class SFTDataModule(CausalLMDataModule):
    """The pretraining module's loaders and resume behaviour over chat-rendered rows."""

    def __init__(self, cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> None:
        super().__init__(cfg, tokenizer, seed)
        self.collate_fn = partial(pad_collate, pad_id=tokenizer.pad_token_id)

    def build_split(self, split: str) -> SizedDataset:
        examples, report = sft_examples(self.cfg, self.tokenizer, self.seed, split)
        self.reports[split] = report
        rows = sft_rows(examples, self.cfg, self.tokenizer.pad_token_id)
        report.items = len(rows)
        return RowDataset(rows)
