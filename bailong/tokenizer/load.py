"""Load the tokenizer a run trains with, from whatever the config names.

A SentencePiece ``.model`` file (or a directory holding ``tokenizer.model`` but no
``tokenizer.json``) is converted by ``bailong.tokenizer.hf`` so ids match the SentencePiece
model exactly (transformers' own Llama conversion differs on runs of spaces); where no exact
conversion exists (competing tied scores, Unigram) it warns and uses SentencePiece itself
(``bailong.tokenizer.sentencepiece_backed``), so a run never tokenizes differently from the
model the user chose. A directory with ``tokenizer.json`` (such as ``bailong-extend-tokenizer``'s
output) or a hub name goes through ``AutoTokenizer``; when the directory also holds
``tokenizer.model`` and the two disagree (or cannot agree), the ``.model`` wins, with a warning.
With no name, a small byte-fallback model is trained on the run's text files and cached by
content hash, so the default run is self-contained and repeated runs reuse it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from bailong.core.paths import looks_local
from bailong.tokenizer.hf import (
    InexactConversionError,
    conversion_problem,
    hf_tokenizer_from_sentencepiece,
)
from bailong.tokenizer.merge import load_model_proto
from bailong.tokenizer.sample_file import sample_tokenizer_file
from bailong.tokenizer.sentencepiece_backed import sentencepiece_tokenizer

# Text on which a directory's tokenizer.json is checked against its tokenizer.model: whitespace
# runs and leading spaces (where transformers' own Llama conversion differs), mixed scripts.
PROBE_LINES = (
    "  two  spaces",
    " leading",
    "a  b\n  c",
    "\tx   y",
    "Hello world, it's 2024! 3.14",
    "中華民國臺灣，今天天氣很好。上有所不同的時候進一步",
    "互联网的时候进一步发展",
)


def sentencepiece_model_tokenizer(model_path: Path) -> PreTrainedTokenizerBase:
    """The exact fast conversion of ``model_path``, else (with a warning) SentencePiece itself."""
    try:
        return hf_tokenizer_from_sentencepiece(model_path)
    except InexactConversionError as err:
        warnings.warn(
            f"{err}. Using the SentencePiece-backed tokenizer (exact, slower).", stacklevel=2
        )
        return sentencepiece_tokenizer(model_path)


def _probe_lines(proto_pieces: Sequence[str]) -> list[str]:
    """PROBE_LINES plus lines made of the model's own last pieces, where additions live."""
    tail = [p.replace("▁", " ") for p in proto_pieces[-400:]]
    return [*PROBE_LINES, *("".join(tail[i : i + 8]) for i in range(0, len(tail), 8))]


def _directory_tokenizer(path: Path, trust_remote_code: bool) -> PreTrainedTokenizerBase:
    """``tokenizer.json`` unless the directory's ``tokenizer.model`` says it would be wrong."""
    model = path / "tokenizer.model"
    if not model.is_file():
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    proto = load_model_proto(model)
    if (problem := conversion_problem(proto)) is not None:
        warnings.warn(
            f"{path}: ignoring tokenizer.json, which cannot match tokenizer.model ({problem}); "
            "using the SentencePiece-backed tokenizer (exact, slower)",
            stacklevel=3,
        )
        return sentencepiece_tokenizer(model)
    tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code)
    sp = spm.SentencePieceProcessor(model_file=str(model))
    lines = _probe_lines([p.piece for p in proto.pieces if p.type == p.NORMAL])
    differ = [x for x in lines if tok(x, add_special_tokens=False)["input_ids"] != sp.encode(x)]
    if differ:
        warnings.warn(
            f"{path}: tokenizer.json and tokenizer.model give different ids on {len(differ)} of "
            f"{len(lines)} probe lines (e.g. {differ[0]!r}); using tokenizer.model, converted "
            "exactly",
            stacklevel=3,
        )
        return hf_tokenizer_from_sentencepiece(model)
    return tok


def load_tokenizer(
    name_or_path: str | None,
    *,
    text_files: Sequence[Path] = (),
    sample_vocab_size: int = 2000,
    cache_dir: Path | None = None,
    trust_remote_code: bool = False,
    text_field: str = "text",
) -> PreTrainedTokenizerBase:
    """A tokenizer with BOS/EOS set and a pad token (EOS when the tokenizer has none);
    ``text_field`` is the field a sample tokenizer reads from JSONL/JSON/Parquet records."""
    if name_or_path is None:
        if not text_files or cache_dir is None:
            raise ValueError("training a sample tokenizer needs text_files and cache_dir")
        tok: PreTrainedTokenizerBase = hf_tokenizer_from_sentencepiece(
            sample_tokenizer_file(text_files, sample_vocab_size, cache_dir, text_field)
        )
    elif (path := Path(name_or_path).expanduser()).is_file():
        tok = sentencepiece_model_tokenizer(path)
    elif (path / "tokenizer.model").is_file() and not (path / "tokenizer.json").is_file():
        tok = sentencepiece_model_tokenizer(path / "tokenizer.model")
    elif path.is_dir():
        tok = _directory_tokenizer(path, trust_remote_code)
    elif looks_local(str(name_or_path)) and not path.exists():
        raise FileNotFoundError(
            f"tokenizer.name_or_path={name_or_path!r}: no such file or directory (an extended "
            "tokenizer is built there by bailong-extend-tokenizer; run it first)"
        )
    else:
        tok = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok
