"""Load the tokenizer a run trains with, from whatever the config names.

A SentencePiece ``.model`` file (or a directory holding only ``tokenizer.model``) is converted
by ``bailong.tokenizer.hf`` so ids match the SentencePiece model exactly (transformers' own
Llama conversion differs on runs of spaces); a directory with ``tokenizer.json`` (such as
``bailong-extend-tokenizer``'s output) or a hub name goes through ``AutoTokenizer``. With no
name, a small byte-fallback model is trained on the run's text files and cached by content
hash, so the default run is self-contained and repeated runs reuse it.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from transformers import AutoTokenizer, PreTrainedTokenizerBase

from bailong.tokenizer.hf import hf_tokenizer_from_sentencepiece
from bailong.tokenizer.train import train_sentencepiece


def _sample_tokenizer_file(text_files: Sequence[Path], vocab_size: int, cache_dir: Path) -> Path:
    """Train (once) a small SentencePiece model on ``text_files``; cached by content and size."""
    digest = hashlib.sha256(str(vocab_size).encode())
    for path in sorted(text_files):
        digest.update(path.read_bytes())
    target = cache_dir / "tokenizers" / f"sample-{digest.hexdigest()[:16]}" / "tokenizer.model"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        trained = train_sentencepiece(text_files, Path(tmp) / "tokenizer", vocab_size)
        trained.replace(target)  # atomic: a concurrent job sees either nothing or the whole file
    return target


def load_tokenizer(
    name_or_path: str | None,
    *,
    text_files: Sequence[Path] = (),
    sample_vocab_size: int = 2000,
    cache_dir: Path | None = None,
    trust_remote_code: bool = False,
) -> PreTrainedTokenizerBase:
    """A tokenizer with BOS/EOS set and a pad token (EOS when the tokenizer has none)."""
    if name_or_path is None:
        if not text_files or cache_dir is None:
            raise ValueError("training a sample tokenizer needs text_files and cache_dir")
        tok = hf_tokenizer_from_sentencepiece(
            _sample_tokenizer_file(text_files, sample_vocab_size, cache_dir)
        )
    elif (path := Path(name_or_path).expanduser()).is_file():
        tok = hf_tokenizer_from_sentencepiece(path)
    elif (path / "tokenizer.model").is_file() and not (path / "tokenizer.json").is_file():
        tok = hf_tokenizer_from_sentencepiece(path / "tokenizer.model")
    else:
        tok = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok
