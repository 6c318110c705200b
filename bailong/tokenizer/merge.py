"""Append one SentencePiece BPE model's pieces to another (Llama 2 + a Chinese model).

The merge works on the ``ModelProto`` itself, so it is append-only by construction: every
piece of the base keeps its id, score and type bit-for-bit (the base model's embeddings stay
valid), and new pieces get ids from ``len(base)`` on. What the appended pieces are scored
matters: SentencePiece BPE encodes by repeatedly merging the adjacent pair whose joined piece
has the highest score, so appended pieces scored above the base's merges can re-segment
English (Chinese-LLaMA-Alpaca gives them score 0, see its issues #268, #882). The default
``below_base`` policy scores them below every base piece, so all of the base's merges happen
first and a text whose base segmentation never puts two symbols that join into an appended
piece side by side keeps exactly its base segmentation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from bailong.config import ScorePolicy

NORMAL = sp_pb2.ModelProto.SentencePiece.NORMAL
BPE = sp_pb2.TrainerSpec.BPE

# Code point ranges counted as CJK by the ``cjk_only`` filter: unified ideographs (with
# extensions A-H and compatibility ideographs), CJK symbols and punctuation, Bopomofo and the
# full-width forms Chinese text punctuates with (，！？：).
CJK_RANGES = (
    (0x3000, 0x303F),
    (0x3100, 0x312F),
    (0x31A0, 0x31BF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x323AF),
)


def contains_cjk(piece: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in piece for lo, hi in CJK_RANGES)


@dataclass(frozen=True)
class MergeResult:
    """Counts of one merge; ``candidates`` are the addition's NORMAL pieces the base lacks."""

    base_size: int
    addition_size: int
    candidates: int
    filtered_out: int  # removed by cjk_only / min_score
    unreachable: int  # dropped: no split into two pieces of the merged vocabulary
    truncated: int  # dropped by max_added
    added: int
    total: int
    score_policy: str
    output_path: str

    def to_dict(self) -> dict[str, int | str]:
        return asdict(self)


def load_model_proto(path: str | Path) -> sp_pb2.ModelProto:
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(Path(path).read_bytes())
    return proto


def _reachable(piece: str, vocab: set[str]) -> bool:
    """BPE builds a piece by joining two pieces, so a multi-character piece needs a split."""
    return len(piece) == 1 or any(
        piece[:i] in vocab and piece[i:] in vocab for i in range(1, len(piece))
    )


def _select(
    base: sp_pb2.ModelProto,
    addition: sp_pb2.ModelProto,
    cjk_only: bool,
    min_score: float | None,
    max_added: int | None,
) -> tuple[list[sp_pb2.ModelProto.SentencePiece], dict[str, int]]:
    present = {p.piece for p in base.pieces}
    candidates = [p for p in addition.pieces if p.type == NORMAL and p.piece not in present]
    kept = [
        p
        for p in candidates
        if (not cjk_only or contains_cjk(p.piece)) and (min_score is None or p.score >= min_score)
    ]
    # Single characters first, then merges by the addition's score (the order BPE learned
    # them): a merge's parts precede it, so truncating the tail keeps the rest buildable.
    kept.sort(key=lambda p: (len(p.piece) > 1, -p.score))
    vocab = set(present)
    buildable = []
    for p in kept:
        if _reachable(p.piece, vocab):
            buildable.append(p)
            vocab.add(p.piece)
    chosen = buildable if max_added is None else buildable[:max_added]
    counts = {
        "candidates": len(candidates),
        "filtered_out": len(candidates) - len(kept),
        "unreachable": len(kept) - len(buildable),
        "truncated": len(buildable) - len(chosen),
    }
    return chosen, counts


def _appended_scores(
    base: sp_pb2.ModelProto, chosen: list[sp_pb2.ModelProto.SentencePiece], policy: ScorePolicy
) -> list[float]:
    if policy is ScorePolicy.zero:
        return [0.0] * len(chosen)
    if policy is ScorePolicy.addition:
        return [p.score for p in chosen]
    # Each score is the next float32 below the previous one (scores are stored as float32),
    # so appended pieces are distinct, keep their order, and rank below all base pieces
    # (Llama 2's lowest is -1e9, its whitespace-run pieces).
    score = np.float32(min(p.score for p in base.pieces))
    scores = []
    for _ in chosen:
        score = np.nextafter(score, np.float32(-np.inf), dtype=np.float32)
        scores.append(float(score))
    return scores


def merge_sentencepiece(
    base_model_path: str | Path,
    addition_model_path: str | Path,
    output_path: str | Path,
    *,
    cjk_only: bool = False,
    min_score: float | None = None,
    max_added: int | None = None,
    score_policy: ScorePolicy | str = ScorePolicy.below_base,
) -> MergeResult:
    """Append the addition's NORMAL pieces that the base lacks; write ``output_path``.

    Filters: ``cjk_only`` keeps pieces containing a CJK character, ``min_score`` keeps pieces
    whose score in the addition is at least that, ``max_added`` caps the count (taking
    characters first, then merges in learned order) to reach an exact target size. Pieces no
    split of which lies in the merged vocabulary (their parts were filtered out) are dropped,
    since BPE could never produce them.
    """
    policy = ScorePolicy(score_policy)
    if max_added is not None and max_added < 0:
        raise ValueError(f"max_added={max_added} is invalid: must be >= 0")
    base = load_model_proto(base_model_path)
    addition = load_model_proto(addition_model_path)
    for name, proto in (("base", base), ("addition", addition)):
        if proto.trainer_spec.model_type != BPE:
            raise ValueError(
                f"{name} model {proto.trainer_spec.model_type=} is not BPE; "
                "appending pieces by merge score only makes sense between BPE models"
            )
    chosen, counts = _select(base, addition, cjk_only, min_score, max_added)
    for piece, score in zip(chosen, _appended_scores(base, chosen, policy), strict=True):
        base.pieces.append(sp_pb2.ModelProto.SentencePiece(piece=piece.piece, score=score))
    base.trainer_spec.vocab_size = len(base.pieces)
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base.SerializeToString())
    return MergeResult(
        base_size=len(base.pieces) - len(chosen),
        addition_size=len(addition.pieces),
        added=len(chosen),
        total=len(base.pieces),
        score_policy=policy.value,
        output_path=str(out),
        **counts,
    )
