"""What a data config produces, in words: realized shares, filter counts, masked examples.

Used by ``bailong-data`` so a mix can be checked before a long run: did each source get its
token share, what did each cleaning step and the bad-record policy remove, and which tokens
of a rendered conversation carry loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, cast

from transformers import PreTrainedTokenizerBase

from bailong.data.datamodule import DataReport, pretrain_blocks
from bailong.data.pack import IGNORE_INDEX
from bailong.data.sft import sft_examples
from bailong.training.config import TrainConfig

TRAINED_OPEN, TRAINED_CLOSE = "{+", "+}"
MAX_EXAMPLES = 8  # examples or blocks kept for display


@dataclass
class SplitSummary:
    report: DataReport
    examples: list[tuple[list[int], list[int]]]  # a few rendered SFT examples or packed blocks


def summarize(cfg: TrainConfig, tokenizer: PreTrainedTokenizerBase, split: str) -> SplitSummary:
    """Build ``split`` of ``cfg.data`` exactly as training would, keeping its report."""
    if cfg.data.kind == "sft":
        examples, report = sft_examples(cfg.data, tokenizer, cfg.seed, split)
        return SplitSummary(report, examples)
    blocks, report = pretrain_blocks(cfg.data, tokenizer, cfg.seed, split)
    rows = [blocks[i]["input_ids"].tolist() for i in range(min(len(blocks), MAX_EXAMPLES))]
    # every token of a pretraining block carries loss: labels are the ids
    return SplitSummary(report, [(row, row) for row in rows])


class StoreRow(TypedDict):
    """One source's token store, as ``bailong-data`` lists it."""

    source: str
    path: str
    disk_bytes: int
    train_tokens: int
    val_tokens: int
    docs: int
    build_seconds: float
    reused: bool
    complete: bool


def store_rows(report: DataReport) -> list[StoreRow]:
    """One row per source's token store: where, size on disk, tokens per split, build time."""
    return [
        {
            "source": name,
            "path": str(store.path),
            "disk_bytes": store.disk_bytes(),
            "train_tokens": store.tokens("train"),
            "val_tokens": store.tokens("val"),
            "docs": store.streams["train"].docs + store.streams["val"].docs,
            "build_seconds": store.meta["build_seconds"],
            "reused": store.reused,
            "complete": store.meta["complete"],
        }
        for name, store in report.stores.items()
    ]


def show_loss_mask(ids: list[int], labels: list[int], tokenizer: PreTrainedTokenizerBase) -> str:
    """Decode ``ids`` with the tokens that carry loss wrapped in ``{+ … +}``."""
    out: list[str] = []
    run: list[int] = []
    trained: bool | None = None
    for token, label in [*zip(ids, labels, strict=True), (None, None)]:
        is_trained = label is not None and label != IGNORE_INDEX
        if token is None or (run and is_trained != trained):
            # typed for a batch too; one sequence decodes to one string
            text = cast(str, tokenizer.decode(run, skip_special_tokens=False))
            out.append(f"{TRAINED_OPEN}{text}{TRAINED_CLOSE}" if trained else text)
            run = []
        if token is not None:
            run.append(token)
            trained = is_trained
    return "".join(out)
