"""Settings of the tokenizer stage: the run's tokenizer, and how a merge scores what it appends.

The extend-tokenizer app's own settings are in ``bailong.tokenizer.extend_config``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bailong.core.checks import check_choice, fail

SAMPLE_TOKENIZER_KINDS = ("sentencepiece", "byte_level", "extended")
MIN_BYTE_FALLBACK_PIECES = 300  # 256 bytes and 3 specials, and some room for real pieces


class ScorePolicy(str, Enum):
    """Scores given to pieces appended to a SentencePiece model (see bailong.tokenizer.merge)."""

    below_base = "below_base"  # strictly below every base score, in the addition's order
    zero = "zero"  # 0.0 for all, as Chinese-LLaMA-Alpaca's merge script does
    addition = "addition"  # the addition model's own scores


class MergeMode(str, Enum):
    """Which of the addition's missing pieces a merge appends (see bailong.tokenizer.merge)."""

    reachable = "reachable"  # only pieces BPE can build, parts before wholes; the rest counted
    append_all = "append_all"  # every piece, in the addition's order (Chinese-LLaMA's script)


@dataclass
class TokenizerConfig:
    # A tokenizer directory, a SentencePiece ``.model`` file, or a hub name. None trains a
    # small byte-fallback SentencePiece model on the data files (cached), so the default run
    # needs nothing downloaded.
    name_or_path: str | None = None
    sample_vocab_size: int = 2000
    # Kind of the sample tokenizer trained when name_or_path is None: sentencepiece (Llama 2's
    # kind, byte fallback), byte_level (byte-level BPE, the kind of Llama 3 and Qwen) or
    # extended (``original`` + up to ``sample_added`` Chinese pieces of the data files).
    sample_kind: str = "sentencepiece"
    # sample_kind=extended: the original tokenizer the extension appends to (a SentencePiece
    # .model); embedding_init reads each new token's original pieces from it.
    original: str | None = None
    # How conf/tokenizer/sample_extended.yaml picks ``original``: standin | auto | llama2.
    original_choice: str = "standin"
    sample_added: int = 512


def check_tokenizer(tokenizer: TokenizerConfig) -> None:
    if tokenizer.name_or_path is None and tokenizer.sample_vocab_size < MIN_BYTE_FALLBACK_PIECES:
        fail(
            "tokenizer.sample_vocab_size",
            tokenizer.sample_vocab_size,
            "a byte-fallback tokenizer needs at least 300 pieces (259 are bytes and specials)",
        )
    check_choice("tokenizer.sample_kind", tokenizer.sample_kind, SAMPLE_TOKENIZER_KINDS)
    if tokenizer.name_or_path is None and tokenizer.sample_kind == "extended":
        if tokenizer.original is None:
            fail(
                "tokenizer.original",
                None,
                "tokenizer.sample_kind=extended needs the tokenizer to extend, e.g. "
                "tokenizer.original=/path/to/tokenizer.model (tokenizer=sample_extended sets it)",
            )
        if tokenizer.sample_added <= 0:
            fail("tokenizer.sample_added", tokenizer.sample_added, "must be a positive integer")
