"""Tokenizers: train SentencePiece models, extend Llama 2's with Chinese pieces, load them."""

from bailong.tokenizer.hf import hf_tokenizer_from_sentencepiece, save_tokenizer_dir
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.merge import MergeResult, merge_sentencepiece
from bailong.tokenizer.train import train_sentencepiece

__all__ = [
    "MergeResult",
    "hf_tokenizer_from_sentencepiece",
    "load_tokenizer",
    "merge_sentencepiece",
    "save_tokenizer_dir",
    "train_sentencepiece",
]
