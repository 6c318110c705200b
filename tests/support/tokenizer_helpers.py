"""Tiny SentencePiece models trained in the test from text written here (no shared data)."""

from __future__ import annotations

import random
from pathlib import Path

import sentencepiece as spm

from bailong.tokenizer.train import train_sentencepiece

EN_TEXT = (
    "the river runs past an old mill where children play and farmers bring grain to "
    "market every morning while the baker sells warm bread to travellers"
)
ZH_TEXT = (
    "臺灣 天氣 今天 很好 我們 一起 去 學校 讀書 老師 說 中文 語言 模型 資料 訓練 "
    "電腦 程式 問題 答案 歷史 文化 臺北 高雄 朋友 喜歡 吃飯 喝茶 晚上 早上 GPU Llama"
)


def sentences(words: tuple[str, ...] | list[str], n: int, seed: int, sep: str) -> list[str]:
    rng = random.Random(seed)
    return [sep.join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(n)]


def english_lines(n: int = 400, seed: int = 0) -> list[str]:
    return [line.capitalize() + "." for line in sentences(EN_TEXT.split(), n, seed, " ")]


def chinese_lines(n: int = 400, seed: int = 1) -> list[str]:
    return [line + "。" for line in sentences(ZH_TEXT.split(), n, seed, "")]


def write(lines: list[str], path: Path) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tiny_models(tmp: Path) -> tuple[Path, Path]:
    """(base, addition): an English byte-fallback model and a Chinese one, a second each."""
    base = train_sentencepiece([write(english_lines(), tmp / "en.txt")], tmp / "base", 320)
    addition = train_sentencepiece(
        [write(chinese_lines(), tmp / "zh.txt")], tmp / "zh", 500, character_coverage=1.0
    )
    return base, addition


def tiny_unigram(tmp: Path, vocab_size: int = 300) -> Path:
    """A Unigram Chinese model, the kind Chinese-LLaMA appends (default normalizer and all)."""
    spm.SentencePieceTrainer.train(
        input=str(write(chinese_lines(400, seed=2), tmp / "zh_unigram.txt")),
        model_prefix=str(tmp / "zh_unigram"),
        model_type="unigram",
        vocab_size=vocab_size,
        character_coverage=1.0,
        minloglevel=2,
        num_threads=1,
    )
    return tmp / "zh_unigram.model"
