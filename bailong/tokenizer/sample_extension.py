"""A small append-only extension of a SentencePiece base, trained on texts in a second.

The two steps of the extend-tokenizer pipeline (``bailong.tokenizer.extend``) without its
corpus split, Hugging Face conversion and report: a byte-fallback BPE trained on ``texts``,
then ``merge_sentencepiece`` with the pipeline's defaults (only pieces with a CJK character,
only pieces BPE can build from the merged vocabulary, characters first and parts before
wholes, scored below every base piece), at most ``max_added`` of them. The probe builds its
default extension this way when none is given, and so do the benchmark and the tests that
need an extension of a corpus.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bailong.tokenizer.corpus import write_lines
from bailong.tokenizer.merge import MergeResult, merge_sentencepiece
from bailong.tokenizer.train import train_sentencepiece

SPECIAL_AND_BYTE_PIECES = 3 + 256  # <unk> <s> </s>, then the byte-fallback pieces


def extend_with_texts(
    base_model: str | Path, texts: Iterable[str], max_added: int, out_dir: Path
) -> MergeResult:
    """``base_model`` with up to ``max_added`` pieces of a BPE trained on ``texts``: written to
    ``out_dir/tokenizer.model``, the addition model and its training text beside it."""
    corpus = write_lines(texts, out_dir / "addition.txt")
    characters = len(set(corpus.read_text(encoding="utf-8")))
    # Room for every character plus max_added merges, as an upper bound: SentencePiece rejects
    # a size below its characters' and, with a hard limit, one above what a small text yields.
    vocab_size = SPECIAL_AND_BYTE_PIECES + characters + max_added
    addition = train_sentencepiece(
        [corpus], out_dir / "addition", vocab_size, hard_vocab_limit=False
    )
    return merge_sentencepiece(
        base_model, addition, out_dir / "tokenizer.model", cjk_only=True, max_added=max_added
    )
