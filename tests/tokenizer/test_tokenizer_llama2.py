"""The real Llama 2 tokenizer extended with a model trained on the shared zh_tw corpora."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import sentencepiece as spm

from bailong.tokenizer.corpus import sample_lines, split_heldout, write_lines, zh_tw_documents
from bailong.tokenizer.hf import save_tokenizer_dir
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.merge import load_model_proto, merge_sentencepiece
from bailong.tokenizer.report import build_report
from bailong.tokenizer.train import train_sentencepiece
from tests.conftest import require_shared


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = require_shared("tokenizers/llama2/tokenizer.model")
    docs = zh_tw_documents(require_shared("corpora/zh_tw"))
    en_files = sorted(require_shared("corpora/en").glob("*.txt"))
    tmp = tmp_path_factory.mktemp("llama2_ext")
    train, heldout = split_heldout(docs, 0.05, seed=0)
    addition = train_sentencepiece(
        [write_lines(train, tmp / "train.txt")], tmp / "zh", 8000, input_sentence_size=20000
    )
    merged = merge_sentencepiece(base, addition, tmp / "tokenizer.model", cjk_only=True)
    return {
        "base": base,
        "merged": merged,
        "zh": [line for doc in heldout for line in doc.splitlines() if line],
        "en": sample_lines(en_files, 500, seed=0),
        "dir": save_tokenizer_dir(tmp / "tokenizer.model", tmp / "hf"),
    }


def test_original_ids_pieces_scores_types_unchanged(extended: dict) -> None:
    base = load_model_proto(extended["base"]).pieces
    merged = load_model_proto(extended["merged"].output_path).pieces
    assert len(base) == 32000 and len(merged) == 32000 + extended["merged"].added
    for i in range(32000):
        assert merged[i].SerializeToString() == base[i].SerializeToString(), i
    assert len({p.piece for p in merged}) == len(merged)


def test_round_trips_traditional_chinese_and_english(extended: dict) -> None:
    sp = spm.SentencePieceProcessor(model_file=extended["merged"].output_path)
    for line in extended["zh"][:200] + extended["en"][:200] + ["白龍 Bailong：繁體中文 🐉"]:
        assert sp.decode(sp.encode(line)) == line


def test_fewer_tokens_per_chinese_character_and_english_unchanged(extended: dict) -> None:
    report = build_report(
        extended["base"],
        Path(extended["merged"].output_path),
        {"zh_tw": extended["zh"], "en": extended["en"]},
    )
    zh, en = report["languages"]["zh_tw"], report["languages"]["en"]
    assert zh["tokens_after"] < 0.7 * zh["tokens_before"]
    assert zh["byte_fraction_after"] < zh["byte_fraction_before"]
    assert en["lines_changed"] == 0 and en["tokens_after"] == en["tokens_before"]


def test_without_cjk_filter_english_changes_only_by_appended_pieces(
    extended: dict, tmp_path: Path
) -> None:
    """below_base scores: every base merge happens first, so a changed English line must
    contain an appended piece (Latin pieces the Chinese model learned, e.g. 'RG')."""
    addition = Path(extended["merged"].output_path).parent / "zh.model"
    merged = merge_sentencepiece(extended["base"], addition, tmp_path / "all.model")
    base = spm.SentencePieceProcessor(model_file=str(extended["base"]))
    ext = spm.SentencePieceProcessor(model_file=merged.output_path)
    for line in extended["en"]:
        before, after = base.encode(line), ext.encode(line)
        if before != after:
            assert any(i >= 32000 for i in after), line


def test_hf_dir_matches_sentencepiece_on_real_text(extended: dict) -> None:
    from transformers import AutoTokenizer

    sp = spm.SentencePieceProcessor(model_file=str(extended["dir"] / "tokenizer.model"))
    tok = AutoTokenizer.from_pretrained(str(extended["dir"]), local_files_only=True)
    lines = extended["zh"][:300] + extended["en"][:300]
    assert tok(lines, add_special_tokens=False)["input_ids"] == sp.encode(lines)


@pytest.fixture(scope="module")
def unigram_merges(extended: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A Unigram Chinese model (the kind Chinese-LLaMA appends) trained on the same text,
    appended to Llama 2 the peers' way (append_all, score 0) and bailong's (reachable)."""
    tmp = tmp_path_factory.mktemp("llama2_unigram")
    train_text = Path(extended["merged"].output_path).parent / "train.txt"
    spm.SentencePieceTrainer.train(
        input=str(train_text),
        model_prefix=str(tmp / "zh_unigram"),
        model_type="unigram",
        vocab_size=8000,
        input_sentence_size=8000,
        shuffle_input_sentence=True,
        max_sentence_length=8192,
        minloglevel=2,
        num_threads=2,
    )
    addition = tmp / "zh_unigram.model"
    kw = {"cjk_only": False}
    return {
        "addition": addition,
        "peer": merge_sentencepiece(
            extended["base"], addition, tmp / "peer.model", mode="append_all",
            score_policy="zero", **kw,
        ),
        "reachable": merge_sentencepiece(extended["base"], addition, tmp / "ours.model", **kw),
    }  # fmt: skip


def test_unigram_addition_peer_and_reachable_merges(extended: dict, unigram_merges: dict) -> None:
    """Peer mode appends exactly the pieces Llama 2 lacks; both keep ids 0..31,999 bit-for-bit;
    reachable mode drops only pieces no pair of merged pieces joins into."""
    base = load_model_proto(extended["base"]).pieces
    base_pieces = {p.piece for p in base}
    new = {p.piece for p in load_model_proto(unigram_merges["addition"]).pieces} - base_pieces
    peer, ours = unigram_merges["peer"], unigram_merges["reachable"]
    assert peer.added == len(new) and peer.total == 32000 + len(new)
    assert ours.added + ours.unreachable == ours.candidates and ours.added < peer.added
    for result in (peer, ours):
        merged = load_model_proto(result.output_path).pieces
        assert [p.SerializeToString() for p in merged[:32000]] == [
            p.SerializeToString() for p in base
        ]
    symbols = {p.piece for p in load_model_proto(ours.output_path).pieces}
    for piece in ours.unreachable_examples:
        assert not any(piece[:i] in symbols and piece[i:] in symbols for i in range(1, len(piece)))


def test_unigram_merges_hf_equals_sentencepiece_on_every_heldout_line(
    extended: dict, unigram_merges: dict
) -> None:
    """The tied peer merge loads through SentencePiece itself; bailong's converts exactly.
    Either way the loaded tokenizer gives SentencePiece's ids on every held-out line."""
    lines = extended["zh"] + extended["en"]
    for name in ("peer", "reachable"):
        path = unigram_merges[name].output_path
        sp = spm.SentencePieceProcessor(model_file=path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tok = load_tokenizer(path)
        assert bool(caught) == (name == "peer"), [str(w.message) for w in caught]
        assert tok(lines, add_special_tokens=False)["input_ids"] == sp.encode(lines), name
