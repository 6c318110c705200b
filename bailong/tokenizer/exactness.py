"""Whether a Hugging Face BPE tokenizer can give exactly a SentencePiece BPE model's ids.

Both encoders repeatedly join the best adjacent pair of symbols. SentencePiece ranks a pair by
the score of the piece it makes and, on a tie, joins the leftmost pair; a Hugging Face BPE model
ranks pairs by one fixed merge list and breaks ties only between copies of the same pair. With
merges ranked by score (``bailong.tokenizer.hf``) the two agree unless two pieces with the same
score compete for a shared symbol: with 上有 and 有所 both at score 0, SentencePiece turns
上有所 into 上有|所 (leftmost first), and no merge list can say "whichever is leftmost". Such
models are refused by the conversion (``load_tokenizer`` then uses SentencePiece itself).

One kind of tie is exempt: runs of one character (Llama 2's whitespace pieces ▁▁ … ▁×16, all
scored -1e9). Ranking the longer left part first, as transformers' ``generate_merges`` does,
grows the leftmost run exactly as SentencePiece does (tested on Llama 2 with runs of 1-39).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from bailong.tokenizer.merge import NORMAL, buildable_splits

_Piece = sp_pb2.ModelProto.SentencePiece


@dataclass(frozen=True)
class TieReport:
    """Pieces whose merges compete at one score for a shared symbol, with a few examples."""

    pieces: int
    examples: list[tuple[str, str]]

    def describe(self) -> str:
        shown = ", ".join(f"{a}/{b}" for a, b in self.examples)
        return (
            f"{self.pieces:,} pieces share a score with a piece that competes for the same "
            f"symbol (e.g. {shown}); SentencePiece joins the leftmost of tied pairs, which no "
            "Hugging Face merge order reproduces"
        )


def _competing_pair(ends: set[str], starts: set[str], shared: str) -> tuple[str, str] | None:
    """A pair (x+y, y+z) from these pieces whose order SentencePiece and HF may decide apart."""
    if len(set("".join(ends | starts))) == 1:
        return None  # runs of one character (see the module docstring)
    if ends == starts and len(ends) == 1:
        (piece,) = ends
        # one piece, two splits: HF ranks the longer left part first, i.e. the leftmost pair,
        # when that part (piece minus the shared symbol) is at least as long as the shared one
        return None if len(piece) - len(shared) >= len(shared) else (piece, piece)
    a = min(ends)
    return a, min((b for b in starts if b != a), default=a)


def competing_ties(proto: sp_pb2.ModelProto, max_examples: int = 5) -> TieReport | None:
    """Tied-score pieces A ≠ B with splits A = x+y and B = y+z (or one piece with two such
    splits, left part no longer than the shared one): text x+y+z then segments differently.
    None when there are none, i.e. the score-ranked conversion is exact."""
    normal = [p for p in proto.pieces if p.type == NORMAL]
    # SentencePiece starts from every character, a piece or not
    symbols = {p.piece for p in normal} | {ch for p in normal for ch in p.piece}
    by_score: dict[float, list[str]] = defaultdict(list)
    for p in normal:
        if len(p.piece) > 1:
            by_score[p.score].append(p.piece)
    involved: set[str] = set()
    examples: list[tuple[str, str]] = []
    for pieces in by_score.values():
        ends: dict[str, set[str]] = defaultdict(set)  # y → pieces x+y
        starts: dict[str, set[str]] = defaultdict(set)  # y → pieces y+z
        for piece in pieces:
            for left, right in buildable_splits(piece, symbols):
                ends[right].add(piece)
                starts[left].add(piece)
        for shared in ends.keys() & starts.keys():
            pair = _competing_pair(ends[shared], starts[shared], shared)
            if pair is not None:
                involved.update(ends[shared] | starts[shared])
                if len(examples) < max_examples:
                    examples.append(pair)
    return TieReport(len(involved), examples) if involved else None
