"""A quick append-only vocabulary extension for probes, benchmarks and tests.

The real extension is ``bailong-extend-tokenizer`` (a trained Chinese BPE model merged into
Llama 2's). When no extended tokenizer is given, the probe and the benchmark need one built in
a second from a corpus: the most frequent CJK characters, then the most frequent bigrams of
characters the vocabulary then holds (BPE can only produce a two-character piece whose halves
are pieces), appended after every original piece with scores below all of them.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from bailong.data.clean import is_cjk
from bailong.embeddings.pieces import load_model_proto


def frequent_cjk_pieces(texts: Iterable[str], known: set[str], count: int) -> list[str]:
    """Up to ``count`` new pieces: frequent characters first, then reachable bigrams."""
    chars: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for text in texts:
        for run in ("".join(g) for cjk, g in itertools.groupby(text, is_cjk) if cjk):
            chars.update(run)
            bigrams.update(a + b for a, b in itertools.pairwise(run))
    new = [c for c, _ in chars.most_common() if c not in known][:count]
    vocab = known | set(new)
    reachable = (b for b, _ in bigrams.most_common() if b not in vocab and set(b) <= vocab)
    return new + list(itertools.islice(reachable, count - len(new)))


def append_pieces(original: str | Path, pieces: list[str], out: Path) -> Path:
    """Write ``original`` with ``pieces`` appended (NORMAL, scores below every original piece)."""
    proto = load_model_proto(original)
    known = {p.piece for p in proto.pieces}
    low = min(p.score for p in proto.pieces)
    for i, piece in enumerate(p for p in pieces if p not in known):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, low - 1.0 - i
        entry.type = sp_pb2.ModelProto.SentencePiece.NORMAL
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(proto.SerializeToString())
    return out


def extend_with_corpus(original: str | Path, texts: Iterable[str], count: int, out: Path) -> Path:
    """``original`` extended with up to ``count`` frequent CJK pieces of ``texts``."""
    known = {p.piece for p in load_model_proto(original).pieces}
    return append_pieces(original, frequent_cjk_pieces(texts, known, count), out)
