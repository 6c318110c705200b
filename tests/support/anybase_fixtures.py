"""Original + append-only extended tokenizers of both kinds, for the any-base tests.

The originals are English-centric, as the real bases are: trained on the bundled English text
only (a byte-level BPE like Llama 3/Qwen, a SentencePiece BPE like Mistral/Gemma), so Chinese
comes out as byte pieces; the extensions are trained on the bundled Traditional Chinese text
with the real extension code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from bailong.data.documents import bundled_file
from bailong.tokenizer.byte_level import byte_level_trainer, sample_byte_level_dir
from bailong.tokenizer.byte_level_extend import extend_byte_level
from bailong.tokenizer.sample_extension import extend_with_texts
from bailong.tokenizer.train import train_sentencepiece


def documents(name: str) -> list[str]:
    text = bundled_file(name).read_text("utf-8")
    return [doc.strip() for doc in text.split("\n\n") if doc.strip()]


@dataclass
class TokenizerPair:
    original: Path  # what the base was trained with (embedding_init.original_tokenizer)
    extended: Path  # tokenizer.name_or_path of the extended run
    report: dict[str, Any] | None = None


def byte_level_pair(folder: Path) -> TokenizerPair:
    """A 700-token byte-level BPE on English, extended by up to 400 Chinese tokens."""
    base = sample_byte_level_dir([bundled_file("en.txt")], 700, folder)
    zh = documents("zh_tw.txt")
    heldout = {"zh_tw": zh[-4:], "en": documents("en.txt")}
    out = folder / "ext"
    report = extend_byte_level(base, zh[:-4], heldout, out, vocab_size=1500, max_added=400)
    return TokenizerPair(base, out, report)


def sentencepiece_pair(folder: Path) -> TokenizerPair:
    """A 600-piece SentencePiece BPE on English, with 200 pieces of a Chinese BPE appended."""
    original = train_sentencepiece([bundled_file("en.txt")], folder / "orig", 600)
    merged = extend_with_texts(original, documents("zh_tw.txt"), 200, folder / "extension")
    return TokenizerPair(original, Path(merged.output_path))


# Qwen2's pre-tokenizer split (its tokenizer.json), which Llama 3's differs from only in digits.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def qwen2_like_base(folder: Path) -> Path:
    """A tokenizer laid out as Qwen2's: NFC, regex split + ByteLevel without its own regex,
    ``ignore_merges``, three special tokens after the vocabulary, class Qwen2Tokenizer."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(documents("en.txt"), byte_level_trainer(700))
    tok.model.ignore_merges = True
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN2_SPECIALS])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>")
    hf.save_pretrained(folder / "qwen2-like")
    config = folder / "qwen2-like" / "tokenizer_config.json"
    config.write_text(config.read_text("utf-8").replace("TokenizersBackend", "Qwen2Tokenizer"))
    return folder / "qwen2-like"
