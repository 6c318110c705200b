"""Tiny original + append-only extended SentencePiece models, and tiny Llamas, for the
embedding and probe tests (built in about a second, cached per test session)."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bailong.embeddings.toy_extension import append_pieces
from bailong.tokenizer.train import train_sentencepiece

TEXT = (
    "the model reads a sentence and learns which word comes next while the tokenizer "
    "splits every text into pieces that it knows from training on english books and news"
)
NEW_PIECES = ["臺", "灣", "臺灣", "▁臺灣", "天氣"]


def english_sentencepiece(folder: Path) -> Path:
    """A 400-piece byte-fallback BPE model trained on English only: Chinese becomes bytes."""
    rng = random.Random(0)
    words = TEXT.split()
    corpus = folder / "en.txt"
    lines = (" ".join(rng.choice(words) for _ in range(12)) for _ in range(2000))
    corpus.write_text("\n".join(lines), encoding="utf-8")
    return train_sentencepiece([corpus], folder / "orig", 400)


def extended(original: Path, folder: Path, pieces: list[str] = NEW_PIECES) -> Path:
    return append_pieces(original, pieces, folder / "ext.model")


def tiny_llama(vocab_size: int, hidden: int = 32, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval()
