"""Set up and run the probe from a ``ProbeConfig``: texts, tokenizers, base model, table, JSON.

With the defaults everything is built in seconds from the bundled sample corpus: a small
byte-fallback "original" tokenizer trained on the non-held-out text (so Chinese mostly falls
back to bytes, as with Llama 2), an append-only extension with frequent CJK pieces, and a tiny
random Llama trained briefly on the original tokenizer. With Llama 2 (``model=llama2_7b``,
``original_tokenizer=.../llama2/tokenizer.model``, ``extended_tokenizer=<bailong-extend-
tokenizer output>``) the same code measures the real thing.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from bailong.data.documents import bundled_file
from bailong.embeddings.probe import ProbeRow, probe_methods
from bailong.embeddings.probe_config import ProbeConfig, probe_arms
from bailong.embeddings.toy_extension import extend_with_corpus
from bailong.eval.perplexity import read_heldout
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.train import train_sentencepiece

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


def warm_up(model: LlamaForCausalLM, tokenizer, texts: list[str], steps: int, block: int) -> None:
    """A few hundred AdamW steps on packed text: a random model learns byte/character stats."""
    ids = [i for text in texts for i in [*tokenizer(text).input_ids, tokenizer.eos_token_id]]
    block = min(block, 128)
    blocks = torch.tensor(ids[: len(ids) // block * block]).view(-1, block)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(steps):
        batch = blocks[torch.randint(len(blocks), (8,), generator=generator)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()


def build_base(cfg: ProbeConfig, original: PreTrainedTokenizerBase, texts: list[str], work: Path):
    """The base model at the original vocabulary size (4-bit per ``cfg.quantization``)."""
    model_cfg = cfg.model
    if model_cfg.name_or_path is None:
        torch.manual_seed(cfg.seed)
        config = LlamaConfig(**model_cfg.config, vocab_size=len(original))
        model = LlamaForCausalLM(config)
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


def run_probe(cfg: ProbeConfig) -> list[ProbeRow]:
    torch.manual_seed(cfg.seed)
    target_train, target = split_documents(cfg.target_files, cfg.heldout_fraction)
    english_train, english = split_documents(cfg.english_files, cfg.heldout_fraction)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        original_file = cfg.original_tokenizer
        if original_file is None:
            original_file = str(sample_original(english_train, target_train, cfg, work))
        extended_file = cfg.extended_tokenizer or str(
            extend_with_corpus(original_file, target_train, cfg.new_pieces, work / "ext.model")
        )
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
