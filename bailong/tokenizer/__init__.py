"""Tokenizers: train SentencePiece models, load tokenizers from files, dirs or hub names."""

from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.train import train_sentencepiece

__all__ = ["load_tokenizer", "train_sentencepiece"]
