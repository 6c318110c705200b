"""Train a byte-fallback SentencePiece BPE model, the kind Llama 2 uses.

Byte fallback guarantees every string is encodable (unknown characters become UTF-8 byte
pieces, exactly how Llama 2 sees most Chinese), and the default settings mirror Llama 2's:
digits split, whitespace pieces kept, ids 0/1/2 = <unk>/<s>/</s>.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import sentencepiece as spm

MAX_SENTENCE_BYTES = 8192  # longest input line SentencePiece trains on (longer ones dropped)


def train_sentencepiece(
    input_files: Sequence[str | Path],
    model_prefix: str | Path,
    vocab_size: int,
    *,
    character_coverage: float = 0.9995,
    max_sentencepiece_length: int = 16,
    user_defined_symbols: Iterable[str] = (),
    input_sentence_size: int = 0,
    seed_sentencepiece_size: int = 1_000_000,
    max_sentence_length: int = MAX_SENTENCE_BYTES,
    num_threads: int = 2,
    hard_vocab_limit: bool = True,
) -> Path:
    """Train a BPE model on ``input_files`` and return the path of ``<model_prefix>.model``.

    Each input line is one sentence; lines longer than ``max_sentence_length`` bytes are
    skipped by SentencePiece, so the default admits Wikipedia paragraphs of ~2,700 CJK
    characters (3 bytes each). ``character_coverage`` below 1 leaves the rarest characters to
    byte fallback (0.9995 is the usual choice for Chinese). ``hard_vocab_limit=False`` makes
    ``vocab_size`` an upper bound: training stops early when the text has no more merges.
    """
    prefix = Path(model_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        input=",".join(str(f) for f in input_files),
        model_prefix=str(prefix),
        model_type="bpe",
        vocab_size=vocab_size,
        character_coverage=character_coverage,
        byte_fallback=True,
        split_digits=True,
        allow_whitespace_only_pieces=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        max_sentencepiece_length=max_sentencepiece_length,
        user_defined_symbols=list(user_defined_symbols),
        input_sentence_size=input_sentence_size,
        shuffle_input_sentence=True,
        seed_sentencepiece_size=seed_sentencepiece_size,
        max_sentence_length=max_sentence_length,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=num_threads,
        hard_vocab_limit=hard_vocab_limit,
        minloglevel=2,
    )
    return prefix.with_suffix(".model")
