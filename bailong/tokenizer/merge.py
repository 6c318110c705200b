"""Append one SentencePiece model's pieces to a BPE model (Llama 2 + a Chinese model).

The merge works on the ``ModelProto`` itself, so it is append-only by construction: every
piece of the base keeps its id, score and type bit-for-bit (the base model's embeddings stay
valid), and new pieces get ids from ``len(base)`` on. What the appended pieces are scored
matters: SentencePiece BPE encodes by repeatedly merging the adjacent pair whose joined piece
has the highest score, so appended pieces scored above the base's merges can re-segment
English (Chinese-LLaMA-Alpaca gives them score 0, see its issues #268, #882). The default
``below_base`` policy scores them below every base piece, so all of the base's merges happen
first and a text whose base segmentation never puts two symbols that join into an appended
piece side by side keeps exactly its base segmentation.

The addition may be BPE or Unigram (Chinese-LLaMA's Chinese model is Unigram). Two modes:
``reachable`` (default) appends only pieces BPE can build -- joining two adjacent pieces of the
merged vocabulary, characters included (a piece such as ℃。 whose ℃ is not a piece would be
built by SentencePiece but never by the Hugging Face conversion) -- parts before wholes, and
counts the rest in the result; ``append_all`` does what Chinese-LLaMA's merge script does:
every piece the base lacks, in the addition's order, as a NORMAL piece (use it with
``score_policy=zero`` to reproduce their tokenizers exactly).
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from bailong.tokenizer.config import MergeMode, ScorePolicy

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
    """Counts of one merge; ``candidates`` are the addition's pieces the base lacks (NORMAL
    ones in ``reachable`` mode, every type in ``append_all`` mode)."""

    base_size: int
    addition_size: int
    candidates: int
    filtered_out: int  # removed by cjk_only / min_score
    # no split into two buildable pieces of the merged vocabulary (characters included):
    # dropped in reachable mode, appended anyway (and never produced) in append_all mode
    unreachable: int
    truncated: int  # dropped by max_added
    added: int
    total: int
    score_policy: str
    mode: str
    addition_model_type: str
    output_path: str
    unreachable_examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, int | str | list[str]]:
        return asdict(self)


def load_model_proto(path: str | Path) -> sp_pb2.ModelProto:
    proto = sp_pb2.ModelProto()
    proto.ParseFromString(Path(path).read_bytes())
    return proto


def buildable_splits(piece: str, symbols: set[str]) -> list[tuple[str, str]]:
    """The ways BPE can make ``piece`` by joining two adjacent symbols from ``symbols``.

    SentencePiece starts from every character, in the vocabulary or not, but a Hugging Face
    BPE tokenizer byte-falls-back a character that is not a piece before merging, so a merge
    only counts as buildable here when both parts (characters included) are in ``symbols``.
    """
    return [
        (piece[:i], piece[i:])
        for i in range(1, len(piece))
        if piece[:i] in symbols and piece[i:] in symbols
    ]


def _parts_first(
    kept: list[sp_pb2.ModelProto.SentencePiece], base_pieces: set[str]
) -> tuple[list[sp_pb2.ModelProto.SentencePiece], list[sp_pb2.ModelProto.SentencePiece]]:
    """(buildable pieces in append order, unbuildable ones).

    Reachability is decided on the whole merged vocabulary, not on score order: a Unigram
    model's scores are log-probabilities, so a whole often outscores its parts. The order is
    the addition's score order constrained to put, for every piece, a split of it first (a
    heap of the pieces buildable so far), so truncating the tail keeps the rest buildable; for
    a BPE addition this is exactly its learned order. Single characters come first.
    """
    symbols = set(base_pieces)
    waiting: dict[str, list[int]] = {}  # part → indices of multi-character pieces that use it
    heap: list[tuple[float, int]] = []
    order = [p for p in kept if len(p.piece) == 1]
    symbols.update(p.piece for p in order)
    rest = [p for p in kept if len(p.piece) > 1]
    for i, p in enumerate(rest):
        if buildable_splits(p.piece, symbols):
            heapq.heappush(heap, (-p.score, i))
        else:
            for j in range(2, len(p.piece)):
                waiting.setdefault(p.piece[:j], []).append(i)
                waiting.setdefault(p.piece[-j:], []).append(i)
    done = [False] * len(rest)
    while heap:
        _, i = heapq.heappop(heap)
        if done[i]:
            continue
        done[i] = True
        order.append(rest[i])
        symbols.add(rest[i].piece)
        for k in waiting.pop(rest[i].piece, []):
            if not done[k] and buildable_splits(rest[k].piece, symbols):
                heapq.heappush(heap, (-rest[k].score, k))
    return order, [p for i, p in enumerate(rest) if not done[i]]


def _select(
    base: sp_pb2.ModelProto,
    addition: sp_pb2.ModelProto,
    mode: MergeMode,
    cjk_only: bool,
    min_score: float | None,
    max_added: int | None,
) -> tuple[list[sp_pb2.ModelProto.SentencePiece], dict[str, int], list[str]]:
    present = {p.piece for p in base.pieces}
    candidates = [
        p
        for p in addition.pieces
        if p.piece not in present and (mode is MergeMode.append_all or p.type == NORMAL)
    ]
    kept = [
        p
        for p in candidates
        if (not cjk_only or contains_cjk(p.piece)) and (min_score is None or p.score >= min_score)
    ]
    buildable, unbuildable = _parts_first(kept, present)
    if mode is MergeMode.append_all:
        buildable = kept  # the addition's own order, buildable or not
    chosen = buildable if max_added is None else buildable[:max_added]
    counts = {
        "candidates": len(candidates),
        "filtered_out": len(candidates) - len(kept),
        "unreachable": len(unbuildable),
        "truncated": len(buildable) - len(chosen),
    }
    return chosen, counts, [p.piece for p in unbuildable[:20]]


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
    mode: MergeMode | str = MergeMode.reachable,
) -> MergeResult:
    """Append the addition's pieces that the base lacks; write ``output_path``.

    Filters: ``cjk_only`` keeps pieces containing a CJK character, ``min_score`` keeps pieces
    whose score in the addition is at least that, ``max_added`` caps the count (taking
    characters first, then merges parts before wholes) to reach an exact target size. In
    ``reachable`` mode, pieces that SentencePiece BPE could never build from the merged
    vocabulary are dropped and counted (``unreachable``, with examples); ``append_all`` keeps
    them, as Chinese-LLaMA's merge script does.
    """
    policy, mode = ScorePolicy(score_policy), MergeMode(mode)
    if max_added is not None and max_added < 0:
        raise ValueError(f"max_added={max_added} is invalid: must be >= 0")
    base = load_model_proto(base_model_path)
    addition = load_model_proto(addition_model_path)
    if base.trainer_spec.model_type != BPE:
        raise ValueError(
            f"{base_model_path}: base model_type="
            f"{sp_pb2.TrainerSpec.ModelType.Name(base.trainer_spec.model_type)} is not BPE; "
            "appended pieces are only reachable through BPE merges"
        )
    chosen, counts, unreachable = _select(base, addition, mode, cjk_only, min_score, max_added)
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
        mode=mode.value,
        addition_model_type=sp_pb2.TrainerSpec.ModelType.Name(addition.trainer_spec.model_type),
        output_path=str(out),
        unreachable_examples=unreachable,
        **counts,
    )
