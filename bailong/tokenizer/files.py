"""Which kind of tokenizer a path holds: a SentencePiece model or a Hugging Face tokenizer.json.

Llama 2 ships ``tokenizer.model`` (SentencePiece); Llama 3, Qwen and most current bases ship
only ``tokenizer.json`` (the ``tokenizers`` library's format). A directory holding both
(Llama 2, Mistral, Gemma checkpoints) is read through its SentencePiece model, which is exact.
"""

from __future__ import annotations

from pathlib import Path


def is_sentencepiece(path: str | Path) -> bool:
    """A ``.model`` file, or a directory holding ``tokenizer.model`` (preferred over JSON)."""
    path = Path(path).expanduser()
    return (path / "tokenizer.model").is_file() if path.is_dir() else path.suffix == ".model"


def tokenizer_json(path: str | Path) -> Path:
    """The ``tokenizer.json`` at ``path`` (a file, or a directory holding one)."""
    path = Path(path).expanduser()
    found = path / "tokenizer.json" if path.is_dir() else path
    if not found.is_file():
        raise FileNotFoundError(
            f"tokenizer {str(path)!r}: neither a SentencePiece .model nor a tokenizer.json "
            "(a file, or a directory holding tokenizer.model or tokenizer.json)"
        )
    return found
