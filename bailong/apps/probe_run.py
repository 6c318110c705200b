"""Set up and run the probe from a ``ProbeConfig``: texts, tokenizers, base model, table, JSON.

With the defaults everything is built in seconds from the bundled sample corpus: a small
byte-fallback "original" tokenizer trained on the non-held-out text (so Chinese mostly falls
back to bytes, as with Llama 2), its extension by the extend-tokenizer pipeline's own two steps
(a Chinese BPE trained on the non-held-out target text, appended by ``merge_sentencepiece``),
and a tiny random Llama trained briefly on the original tokenizer by the Lightning training
path. With Llama 2 (``model=llama2_7b``, ``original_tokenizer=.../llama2/tokenizer.model``,
``extended_tokenizer=<bailong-extend-tokenizer output>``) the same code measures the real thing.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import lightning as L
import torch
from rich.console import Console
from rich.table import Table
from torch.utils.data import DataLoader, RandomSampler
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bailong.apps.probe import ProbeRow, probe_methods
from bailong.apps.probe_config import ProbeConfig, probe_arms
from bailong.data.datamodule import BlockDataset
from bailong.data.documents import bundled_file
from bailong.data.heldout import read_heldout
from bailong.data.pack import pack_documents
from bailong.model.config import QuantizationConfig
from bailong.model.load import load_base_model
from bailong.model.lora import train_all_weights
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.sample_extension import extend_with_texts
from bailong.tokenizer.train import train_sentencepiece
from bailong.training.config import OptimConfig, Schedule
from bailong.training.module import CausalLMModule

WARM_UP_BATCH = 8
WARM_UP_BLOCK = 128  # at most: a random model only learns byte and character statistics
# torch AdamW's defaults (weight decay 0.01) at a constant 3e-3, as the warm-up always used
WARM_UP_OPTIM = OptimConfig(lr=3e-3, weight_decay=0.01, schedule=Schedule.constant)

BUNDLED_PREFIX = "bundled:"


def resolve(name: str) -> Path:
    """A path, or ``bundled:<file name>`` for a file of the bundled sample corpus."""
    if name.startswith(BUNDLED_PREFIX):
        path = bundled_file(name[len(BUNDLED_PREFIX) :])
        if not path.is_file():
            raise FileNotFoundError(f"{name!r}: the bundled corpus has no such file")
        return path
    return Path(name).expanduser()


def split_documents(files: list[str], heldout_fraction: float) -> tuple[list[str], list[str]]:
    """(train, held-out): the last ``heldout_fraction`` of each file's documents is held out."""
    train: list[str] = []
    heldout: list[str] = []
    for name in files:
        docs = read_heldout(resolve(name))
        cut = len(docs) - max(1, round(len(docs) * heldout_fraction))
        train += docs[:cut]
        heldout += docs[cut:]
    return train, heldout


def warm_up(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    steps: int,
    block: int,
) -> None:
    """``steps`` AdamW steps on batches of packed text drawn at random, so a random model has
    something to lose: the training path itself (``pack_documents`` blocks, every weight
    trainable, ``CausalLMModule`` with its optimizer, a Lightning ``Trainer``), without
    checkpoints, loggers or validation. One CPU device: a multi-GPU machine would otherwise
    start data-parallel processes for a model of a few megabytes."""
    ids = tokenizer(texts, add_special_tokens=False).input_ids
    blocks = BlockDataset(
        pack_documents(
            ids, min(block, WARM_UP_BLOCK), tokenizer.bos_token_id, tokenizer.eos_token_id
        )
    )
    draws = RandomSampler(
        blocks,
        replacement=True,
        num_samples=steps * WARM_UP_BATCH,
        generator=torch.Generator().manual_seed(0),
    )
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    module = CausalLMModule(train_all_weights(model, gradient_checkpointing=False), WARM_UP_OPTIM)
    trainer.fit(module, DataLoader(blocks, batch_size=WARM_UP_BATCH, sampler=draws))
    model.eval()


def build_base(cfg: ProbeConfig, original: PreTrainedTokenizerBase, texts: list[str], work: Path):
    """The base model at the original vocabulary size (4-bit per ``cfg.quantization``); a random
    one (``model.name_or_path`` null) is built and warmed up unquantized first."""
    model_cfg = cfg.model
    if model_cfg.name_or_path is None:
        full = QuantizationConfig(enabled=False)
        model = load_base_model(model_cfg, full, len(original), work / "cache")
        if cfg.base_train_steps > 0:
            warm_up(model, original, texts, cfg.base_train_steps, cfg.block_size)
        model.save_pretrained(work / "base")
        model_cfg = replace(model_cfg, name_or_path=str(work / "base"))
    return load_base_model(model_cfg, cfg.quantization, len(original), work / "cache")


def sample_original(english: list[str], target: list[str], cfg: ProbeConfig, work: Path) -> Path:
    """A Llama-2-like original: trained on English plus a tenth of the target text, with
    SentencePiece's lowest character coverage, so common characters get pieces and the rest
    fall back to UTF-8 bytes."""
    (work / "train.txt").write_text("\n".join(english + target[: max(1, len(target) // 10)]))
    return train_sentencepiece(
        [work / "train.txt"], work / "orig", cfg.sample_vocab_size, character_coverage=0.98
    )


def tokenizer_files(
    cfg: ProbeConfig, target_train: list[str], english_train: list[str], work: Path
) -> tuple[str, str]:
    """(original, extended) ``.model`` files: the configured ones, or a sample original and its
    extension by ``cfg.new_pieces`` pieces of a Chinese BPE trained on ``target_train``."""
    original = cfg.original_tokenizer
    if original is None:
        original = str(sample_original(english_train, target_train, cfg, work))
    extended = cfg.extended_tokenizer
    if extended is None:
        merged = extend_with_texts(original, target_train, cfg.new_pieces, work / "extension")
        extended = merged.output_path
    return original, extended


def run_probe(cfg: ProbeConfig) -> list[ProbeRow]:
    torch.manual_seed(cfg.seed)
    target_train, target = split_documents(cfg.target_files, cfg.heldout_fraction)
    english_train, english = split_documents(cfg.english_files, cfg.heldout_fraction)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        original_file, extended_file = tokenizer_files(cfg, target_train, english_train, work)
        original, extended = load_tokenizer(original_file), load_tokenizer(extended_file)
        base = build_base(cfg, original, target_train + english_train, work)
        arms = [
            (name, replace(init, original_tokenizer=original_file))
            for name, init in probe_arms(cfg)
        ]
        return probe_methods(base, original, extended, arms, target, english, cfg.block_size)


def print_table(rows: list[ProbeRow], console: Console | None = None) -> None:
    table = Table(title="Initial loss before training (held-out text)")
    for column in ("method", "zh_tw loss", "zh_tw bits/char", "en loss", "en bits/char"):
        if column == "method":  # names of variants are long: never cut them
            table.add_column(column, justify="left", no_wrap=True, min_width=24)
        else:
            table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.method,
            f"{row.target.as_dict()['nll_per_token']:.3f}",
            f"{row.target.as_dict()['bits_per_char']:.3f}",
            f"{row.english.as_dict()['nll_per_token']:.3f}",
            f"{row.english.as_dict()['bits_per_char']:.3f}",
        )
    (console or Console()).print(table)


def write_json(rows: list[ProbeRow], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.as_dict() for r in rows], indent=2) + "\n", encoding="utf-8")
    return path
