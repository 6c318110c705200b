"""Tiny original + append-only extended SentencePiece models, and tiny Llamas, for the
embedding and probe tests (built in about a second, cached per test session). The extensions
are made by the real merge (``merge_sentencepiece``) from a list of pieces."""

from __future__ import annotations

import random
from pathlib import Path

import torch
from sentencepiece import sentencepiece_model_pb2 as sp_pb2
from transformers import LlamaConfig, LlamaForCausalLM

from bailong.tokenizer.config import MergeMode
from bailong.tokenizer.merge import BPE, merge_sentencepiece
from bailong.tokenizer.train import train_sentencepiece

TEXT = (
    "the model reads a sentence and learns which word comes next while the tokenizer "
    "splits every text into pieces that it knows from training on english books and news"
)
NEW_PIECES = ["臺", "灣", "臺灣", "▁臺灣", "們"]  # each buildable from the English model's


def english_sentencepiece(folder: Path) -> Path:
    """A 400-piece byte-fallback BPE model trained on English only: Chinese becomes bytes."""
    rng = random.Random(0)
    words = TEXT.split()
    corpus = folder / "en.txt"
    lines = (" ".join(rng.choice(words) for _ in range(12)) for _ in range(2000))
    corpus.write_text("\n".join(lines), encoding="utf-8")
    return train_sentencepiece([corpus], folder / "orig", 400)


def extended(
    original: Path,
    folder: Path,
    pieces: list[str] = NEW_PIECES,
    mode: MergeMode = MergeMode.reachable,
) -> Path:
    """``original`` with ``pieces`` appended by ``merge_sentencepiece`` (its default scores):
    the list is written as a BPE addition whose merge order is the list's order."""
    addition = sp_pb2.ModelProto()
    addition.trainer_spec.model_type = BPE
    for rank, piece in enumerate(pieces):
        addition.pieces.add(piece=piece, score=-float(rank))
    addition_file = folder / "addition.model"
    addition_file.write_bytes(addition.SerializeToString())
    return Path(
        merge_sentencepiece(original, addition_file, folder / "ext.model", mode=mode).output_path
    )


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
