"""The tokenizers of the tiny runs that extend a vocabulary, with no file from outside.

The method needs two tokenizers: the base's ORIGINAL one (whose pieces zip-tie reads) and its
extension with Chinese pieces. Llama 2's ``tokenizer.model`` comes from the shared data or
the hub; without either a user could not try extension or zip-tie at all. So:

* ``original_tokenizer_file("auto")`` is Llama 2's tokenizer when the shared data holds it,
  else the STAND-IN: the same kind of tokenizer trained the same way, on English only (a
  byte-fallback SentencePiece BPE of ``STANDIN_VOCAB_SIZE`` pieces on the bundled English
  sample), so Chinese reaches it as UTF-8 byte pieces, exactly as it reaches Llama 2;
  ``"standin"`` and ``"llama2"`` pick one;
* ``sample_extension_file`` appends the Chinese pieces of a BPE trained on the run's text to
  an original (``extend_with_texts``, the extend-tokenizer pipeline's merge).

Both are trained once and cached by content (same files, same settings: the same model), so
a resolver (``${bailong.original_tokenizer:...}``) can name the file while the config is
validated and every job of a sweep reads the same one.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bailong.core.cache_entries import discard, publish, usable_sentencepiece
from bailong.core.shared_data import shared_path
from bailong.data.documents import bundled_file
from bailong.tokenizer.corpus import line_documents
from bailong.tokenizer.sample_extension import extend_with_texts
from bailong.tokenizer.sample_file import sample_tokenizer_file

LLAMA2_TOKENIZER = "tokenizers/llama2/tokenizer.model"  # under the shared data folder
STANDIN_VOCAB_SIZE = 1000
STANDIN_CORPUS = "en.txt"  # of the bundled sample
ORIGINAL_CHOICES = ("auto", "llama2", "standin")


def standin_original_file(cache_dir: Path) -> Path:
    """The stand-in original tokenizer: a byte-fallback BPE of the bundled English sample."""
    return sample_tokenizer_file([bundled_file(STANDIN_CORPUS)], STANDIN_VOCAB_SIZE, cache_dir)


def original_tokenizer_file(choice: str, cache_dir: Path) -> Path:
    """Llama 2's ``tokenizer.model`` (``llama2``; ``auto`` when the shared data has it) or the
    stand-in (``standin``; ``auto`` otherwise)."""
    if choice not in ORIGINAL_CHOICES:
        raise ValueError(f"original tokenizer {choice!r}: allowed {', '.join(ORIGINAL_CHOICES)}")
    llama2 = shared_path(LLAMA2_TOKENIZER)
    if choice == "llama2" and llama2 is None:
        raise FileNotFoundError(
            f"Llama 2's tokenizer ({LLAMA2_TOKENIZER}) is not in the shared data folder (set "
            "BAILONG_SHARED_DATA), or use the stand-in: tokenizer.original_choice=standin"
        )
    if choice != "standin" and llama2 is not None:
        return llama2
    return standin_original_file(cache_dir)


def describe_original(path: Path, cache_dir: Path) -> str:
    """Which original tokenizer ``path`` is, in words, for the run's log."""
    llama2 = shared_path(LLAMA2_TOKENIZER)
    if path == llama2:
        return f"Llama 2's tokenizer ({path})"
    if path == standin_original_file(cache_dir):
        where = (
            "the shared data has Llama 2's: tokenizer.original_choice=auto uses it"
            if llama2 is not None
            else f"Llama 2's {LLAMA2_TOKENIZER} is not in the shared data"
        )
        return (
            f"the stand-in for Llama 2's tokenizer ({STANDIN_VOCAB_SIZE}-piece byte-fallback BPE "
            f"of the bundled English sample, {path}; {where})"
        )
    return str(path)


def sample_extension_file(
    original: Path, text_files: Sequence[Path], max_added: int, cache_dir: Path
) -> Path:
    """``original`` + up to ``max_added`` Chinese pieces of a BPE trained on ``text_files``
    (cached by the content of all of them): the ``tokenizer.model`` of the extension."""
    digest = hashlib.sha256(f"{max_added}".encode())
    for path in [original, *sorted(text_files)]:
        digest.update(path.read_bytes())
    folder = cache_dir / "tokenizers" / f"sample-extended-{digest.hexdigest()[:16]}"
    target = folder / "tokenizer.model"
    if usable_sentencepiece(target):
        return target
    if folder.exists():
        discard(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        texts = [line for path in text_files for line in line_documents(path)]
        extend_with_texts(original, texts, max_added, Path(tmp) / "build")
        publish(Path(tmp) / "build", folder, lambda f: usable_sentencepiece(f / "tokenizer.model"))
    return target
