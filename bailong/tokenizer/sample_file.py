"""The small SentencePiece model a run trains on its own text when no tokenizer is named.

Apart from ``bailong.tokenizer.load`` because config validation calls it (the stand-in
original tokenizer is resolved while the config is checked), and validation must not import
transformers or torch: a config error stays a one-second, one-line message.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bailong.core.cache_entries import discard, usable_sentencepiece
from bailong.data.documents import file_format
from bailong.tokenizer.sample_input import TEXT_FORMATS, sentencepiece_inputs
from bailong.tokenizer.train import train_sentencepiece


def sample_tokenizer_file(
    text_files: Sequence[Path], vocab_size: int, cache_dir: Path, text_field: str = "text"
) -> Path:
    """Train (once) a small SentencePiece model on ``text_files``; cached by content and size.

    The files are checked, and structured ones reduced to their text field, first
    (``bailong.tokenizer.sample_input``), so a bad one is named with its line or record
    instead of failing inside SentencePiece with a message that names no file (or, for a
    FIFO, hanging).
    """
    work_root = cache_dir / "tokenizers"
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_root) as tmp:
        inputs = sentencepiece_inputs(text_files, text_field, Path(tmp) / "input")
        digest = hashlib.sha256(str(vocab_size).encode())
        for path in sorted(text_files):
            digest.update(path.read_bytes())
        if any(file_format(Path(p)) not in TEXT_FORMATS for p in text_files):
            digest.update(text_field.encode())  # what was read from the structured files
        target = work_root / f"sample-{digest.hexdigest()[:16]}" / "tokenizer.model"
        if usable_sentencepiece(target):
            return target
        if target.exists():
            discard(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        trained = train_sentencepiece(inputs, Path(tmp) / "tokenizer", vocab_size)
        trained.replace(target)  # atomic: a concurrent job sees either nothing or the whole file
    return target
