"""Append-only merge on tiny models trained here: ids kept, no duplicates, filters, scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

from bailong.tokenizer.merge import (
    NORMAL,
    buildable_splits,
    contains_cjk,
    load_model_proto,
    merge_sentencepiece,
)
from bailong.tokenizer.report import build_report
from tests.support.tokenizer_helpers import chinese_lines, english_lines, tiny_models, tiny_unigram


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tiny_models(tmp_path_factory.mktemp("tiny_spm"))


@pytest.fixture(scope="module")
def unigram(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_unigram(tmp_path_factory.mktemp("tiny_unigram"))


def _pieces(path: Path) -> list[tuple[str, float, int]]:
    return [(p.piece, p.score, p.type) for p in load_model_proto(path).pieces]


def test_default_merge_appends_every_missing_normal_piece(models, tmp_path: Path) -> None:
    base, addition = models
    result = merge_sentencepiece(base, addition, tmp_path / "m.model")
    before, after = _pieces(base), _pieces(Path(result.output_path))
    assert after[: len(before)] == before  # bit-for-bit: piece, float score, type
    assert len({p for p, _, _ in after}) == len(after)
    missing = [p.piece for p in load_model_proto(addition).pieces if p.type == NORMAL]
    missing = [p for p in missing if p not in {q for q, _, _ in before}]
    assert sorted(p for p, _, _ in after[len(before) :]) == sorted(missing)
    assert result.added == len(missing) == result.candidates and result.total == len(after)
    assert all(t == NORMAL for _, _, t in after[len(before) :])


def test_below_base_scores_are_distinct_and_below_every_base_score(models, tmp_path) -> None:
    base, addition = models
    merge_sentencepiece(base, addition, tmp_path / "m.model")
    pieces = _pieces(tmp_path / "m.model")
    n_base = len(_pieces(base))
    new = np.array([s for _, s, _ in pieces[n_base:]], dtype=np.float32)
    assert new.max() < min(s for _, s, _ in pieces[:n_base])
    assert np.all(np.diff(new) < 0)


def test_merged_model_encodes_and_round_trips(models, tmp_path: Path) -> None:
    base, addition = models
    merge_sentencepiece(base, addition, tmp_path / "m.model")
    before = spm.SentencePieceProcessor(model_file=str(base))
    after = spm.SentencePieceProcessor(model_file=str(tmp_path / "m.model"))
    zh, en = chinese_lines(50, seed=7), english_lines(50, seed=7)
    for line in zh + en:
        assert after.decode(after.encode(line)) == line
    assert sum(map(len, after.encode(zh))) < sum(map(len, before.encode(zh))) / 2
    assert after.encode(en) == before.encode(en)


def test_filters_and_exact_count(models, tmp_path: Path) -> None:
    base, addition = models
    cjk = merge_sentencepiece(base, addition, tmp_path / "cjk.model", cjk_only=True)
    added = [p for p, _, _ in _pieces(tmp_path / "cjk.model")[cjk.base_size :]]
    assert added and all(contains_cjk(p) for p in added)
    assert cjk.filtered_out > 0  # the Chinese text mixes in "GPU" and "Llama"
    capped = merge_sentencepiece(base, addition, tmp_path / "cap.model", max_added=40)
    assert capped.added == 40 and capped.total == capped.base_size + 40
    # capping keeps every appended merge buildable from pieces in the merged vocabulary
    vocab = {p for p, _, _ in _pieces(tmp_path / "cap.model")}
    for piece in [p for p, _, _ in _pieces(tmp_path / "cap.model")[capped.base_size :]]:
        assert len(piece) == 1 or any(
            piece[:i] in vocab and piece[i:] in vocab for i in range(1, len(piece))
        )
    scores = [p.score for p in load_model_proto(addition).pieces if p.type == NORMAL]
    threshold = float(np.median(scores))
    high = merge_sentencepiece(base, addition, tmp_path / "hi.model", min_score=threshold)
    assert 0 < high.added < merge_sentencepiece(base, addition, tmp_path / "all.model").added


def test_score_policies(models, tmp_path: Path) -> None:
    base, addition = models
    zero = merge_sentencepiece(base, addition, tmp_path / "z.model", score_policy="zero")
    assert {s for _, s, _ in _pieces(tmp_path / "z.model")[zero.base_size :]} == {0.0}
    kept = merge_sentencepiece(base, addition, tmp_path / "a.model", score_policy="addition")
    add_scores = {p.piece: p.score for p in load_model_proto(addition).pieces}
    assert all(s == add_scores[p] for p, s, _ in _pieces(tmp_path / "a.model")[kept.base_size :])
    with pytest.raises(ValueError, match="bogus"):
        merge_sentencepiece(base, addition, tmp_path / "x.model", score_policy="bogus")


def test_merging_into_itself_adds_nothing(models, tmp_path: Path) -> None:
    base, _ = models
    result = merge_sentencepiece(base, base, tmp_path / "same.model")
    assert result.added == 0 and _pieces(tmp_path / "same.model") == _pieces(base)


def chinese_llama_merge(base: Path, addition: Path) -> list[tuple[str, float, int]]:
    """Chinese-LLaMA-Alpaca's merge_tokenizers.py, the reference of ``append_all``: every
    piece the base lacks, in the addition's order, a fresh piece with score 0."""
    llama, chinese = load_model_proto(base), load_model_proto(addition)
    present = {p.piece for p in llama.pieces}
    for p in chinese.pieces:
        if p.piece not in present:
            new = sp_pb2.ModelProto().SentencePiece()
            new.piece, new.score = p.piece, 0
            llama.pieces.append(new)
    return [(p.piece, p.score, p.type) for p in llama.pieces]


def test_append_all_zero_reproduces_chinese_llama_merge(models, unigram, tmp_path) -> None:
    base, _ = models
    result = merge_sentencepiece(
        base, unigram, tmp_path / "peer.model", mode="append_all", score_policy="zero"
    )
    merged = _pieces(tmp_path / "peer.model")
    assert merged == chinese_llama_merge(base, unigram)
    new = {p.piece for p in load_model_proto(unigram).pieces} - {p for p, _, _ in _pieces(base)}
    assert result.added == result.candidates == len(new) == len(merged) - len(_pieces(base))
    assert result.addition_model_type == "UNIGRAM" and result.mode == "append_all"
    assert load_model_proto(tmp_path / "peer.model").trainer_spec.vocab_size == len(merged)


def test_unigram_addition_keeps_every_piece_bpe_can_build(models, unigram, tmp_path) -> None:
    """Reachability is decided on the merged vocabulary, not on score order: Unigram scores
    are log-probabilities, so wholes that outscore their parts must still be kept."""
    base, _ = models
    result = merge_sentencepiece(base, unigram, tmp_path / "u.model")
    before, after = _pieces(base), _pieces(tmp_path / "u.model")
    assert after[: len(before)] == before
    appended = [p for p, _, _ in after[len(before) :]]
    symbols = {p for p, _, _ in after}
    # every appended piece is buildable from characters and pieces appended before it
    earlier = {p for p, _, _ in before}
    for piece in appended:
        assert len(piece) == 1 or buildable_splits(piece, earlier), piece
        earlier.add(piece)
    # every candidate left out is unbuildable from the whole merged vocabulary
    candidates = [
        p.piece
        for p in load_model_proto(unigram).pieces
        if p.type == NORMAL and p.piece not in {q for q, _, _ in before}
    ]
    left_out = set(candidates) - set(appended)
    assert all(not buildable_splits(p, symbols) for p in left_out)
    assert result.unreachable == len(left_out) and result.added == len(appended)
    assert set(result.unreachable_examples) <= left_out
    # the case score order gets wrong: an appended whole that outscores the parts of all its
    # splits (the old rule dropped these)
    scores = {p.piece: p.score for p in load_model_proto(unigram).pieces}
    outscoring = [
        p
        for p in appended
        if len(p) > 1
        and all(
            max(scores.get(a, -np.inf), scores.get(b, -np.inf)) < scores[p]
            for a, b in buildable_splits(p, symbols)
        )
    ]
    assert outscoring
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "u.model"))
    for line in chinese_lines(30, seed=9):
        assert sp.decode(sp.encode(line)) == line


def test_base_must_be_bpe(models, unigram, tmp_path: Path) -> None:
    base, _ = models
    with pytest.raises(ValueError, match=r"zh_unigram\.model.*UNIGRAM is not BPE"):
        merge_sentencepiece(unigram, base, tmp_path / "x.model")


def test_report_warns_when_english_is_not_checked(models, tmp_path: Path) -> None:
    base, addition = models
    merge_sentencepiece(base, addition, tmp_path / "m.model")
    with pytest.warns(UserWarning, match="English segmentation not checked"):
        report = build_report(base, tmp_path / "m.model", {"zh_tw": chinese_lines(20)})
    assert report["warnings"] == ["English segmentation not checked: no English lines given"]
    assert build_report(base, tmp_path / "m.model", {"en": english_lines(50)})["warnings"] == []
