"""The saved Hugging Face directory encodes exactly like the SentencePiece model, offline."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer

from bailong.tokenizer.hf import (
    InexactConversionError,
    hf_tokenizer_from_sentencepiece,
    save_tokenizer_dir,
)
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.merge import merge_sentencepiece
from bailong.tokenizer.sentencepiece_backed import SentencePieceTokenizer
from bailong.tokenizer.train import train_sentencepiece
from tests.support.tokenizer_helpers import (
    chinese_lines,
    english_lines,
    tiny_models,
    tiny_unigram,
    write,
)

# Whitespace runs, leading spaces, newlines, tabs, and characters neither model has.
EDGE_CASES = ["  two  spaces", " leading", "a  b", "a\n b", "\tx", "   ", "😀 𠀀", "臺灣 a  中文"]


@pytest.fixture(scope="module")
def merged_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hf")
    base, addition = tiny_models(tmp)
    merge_sentencepiece(base, addition, tmp / "merged.model")
    return save_tokenizer_dir(tmp / "merged.model", tmp / "tok")


def test_saved_dir_has_sentencepiece_ids(merged_dir: Path) -> None:
    sp = spm.SentencePieceProcessor(model_file=str(merged_dir / "tokenizer.model"))
    auto = AutoTokenizer.from_pretrained(str(merged_dir), local_files_only=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tokenizer.json agrees with tokenizer.model: no warning
        loaded = load_tokenizer(str(merged_dir))
    assert len(auto) == sp.get_piece_size()
    for line in chinese_lines(40, seed=3) + english_lines(40, seed=3) + EDGE_CASES:
        ids = sp.encode(line)
        assert auto(line, add_special_tokens=False)["input_ids"] == ids, line
        assert loaded(line, add_special_tokens=False)["input_ids"] == ids, line
        assert auto.decode(ids) == sp.decode(ids)
    assert auto("臺灣")["input_ids"][0] == sp.bos_id()
    assert loaded.pad_token_id == sp.eos_id()


@pytest.fixture(scope="module")
def tied(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Merges whose appended pieces tie at score 0: Chinese-LLaMA's own (Unigram addition,
    append_all) and bailong's documented score_policy=zero."""
    tmp = tmp_path_factory.mktemp("tied")
    base, addition = tiny_models(tmp)
    unigram = tiny_unigram(tmp)
    kw = {"score_policy": "zero"}
    merge_sentencepiece(base, unigram, tmp / "peer.model", mode="append_all", **kw)
    merge_sentencepiece(base, addition, tmp / "zero.model", **kw)
    merge_sentencepiece(base, unigram, tmp / "unigram_below.model")
    merge_sentencepiece(base, unigram, tmp / "unigram_addition.model", score_policy="addition")
    return {p.stem: p for p in tmp.glob("*.model")} | {"base": base}


HELDOUT = chinese_lines(300, seed=21) + english_lines(100, seed=21) + EDGE_CASES


def _agree(tok, sp: spm.SentencePieceProcessor, lines: list[str]) -> int:
    return sum(tok(x, add_special_tokens=False)["input_ids"] == sp.encode(x) for x in lines)


@pytest.mark.parametrize("name", ["peer", "zero"])
def test_tied_scores_are_refused_and_loaded_exactly(tied: dict, name: str) -> None:
    """A rank-ordered merge list cannot join 'the leftmost of tied pairs' as SentencePiece
    does: the conversion refuses, and load_tokenizer uses SentencePiece itself."""
    model = tied[name]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    with pytest.raises(InexactConversionError, match=r"leftmost of tied pairs.*load_tokenizer"):
        hf_tokenizer_from_sentencepiece(model)
    forced = hf_tokenizer_from_sentencepiece(model, allow_inexact=True)
    assert _agree(forced, sp, HELDOUT) < len(HELDOUT)  # the refusal is not overcautious
    with pytest.warns(UserWarning, match="SentencePiece-backed"):
        tok = load_tokenizer(str(model))
    assert isinstance(tok, SentencePieceTokenizer)
    assert _agree(tok, sp, HELDOUT) == len(HELDOUT)
    assert tok(HELDOUT[:50])["input_ids"] == [
        [sp.bos_id(), *ids] for ids in sp.encode(HELDOUT[:50])
    ]
    assert len(tok) == sp.get_piece_size() and tok.pad_token_id == sp.eos_id()
    for line in HELDOUT[:50]:
        assert tok.decode(sp.encode(line)) == sp.decode(sp.encode(line))


def test_sentencepiece_backed_save_reloads_exactly(tied: dict, tmp_path: Path) -> None:
    """What a run saves with the fallback tokenizer (adapter/) reloads with SentencePiece's
    ids through load_tokenizer and through plain AutoTokenizer, never a converted guess."""
    sp = spm.SentencePieceProcessor(model_file=str(tied["zero"]))
    with pytest.warns(UserWarning):
        load_tokenizer(str(tied["zero"])).save_pretrained(tmp_path / "saved")
    assert not (tmp_path / "saved" / "tokenizer.json").exists()
    with pytest.warns(UserWarning, match="SentencePiece-backed"):
        reloaded = load_tokenizer(str(tmp_path / "saved"))
    auto = AutoTokenizer.from_pretrained(str(tmp_path / "saved"), local_files_only=True)
    for tok in (reloaded, auto):
        assert _agree(tok, sp, HELDOUT) == len(HELDOUT), type(tok)
        assert tok("臺灣")["input_ids"] == [sp.bos_id(), *sp.encode("臺灣")]


@pytest.mark.parametrize("name", ["unigram_below", "unigram_addition"])
def test_unigram_additions_convert_exactly(tied: dict, name: str) -> None:
    sp = spm.SentencePieceProcessor(model_file=str(tied[name]))
    tok = hf_tokenizer_from_sentencepiece(tied[name])
    assert _agree(tok, sp, HELDOUT) == len(HELDOUT)


def test_save_refuses_and_removes_stale_hf_files(tied: dict, tmp_path: Path) -> None:
    out = save_tokenizer_dir(tied["base"], tmp_path / "tok")
    assert (out / "tokenizer.json").is_file()
    with pytest.raises(InexactConversionError):
        save_tokenizer_dir(tied["zero"], out)
    assert not (out / "tokenizer.json").exists() and (out / "tokenizer.model").is_file()
    sp = spm.SentencePieceProcessor(model_file=str(tied["zero"]))
    with pytest.warns(UserWarning, match="SentencePiece-backed"):
        tok = load_tokenizer(str(out))
    assert _agree(tok, sp, HELDOUT) == len(HELDOUT)


def test_directory_whose_tokenizer_json_disagrees_uses_tokenizer_model(
    tied: dict, tmp_path: Path
) -> None:
    """A tokenizer.json beside a tied tokenizer.model (as HF's own conversion writes one), or
    one from another model: the loader warns and encodes like tokenizer.model."""
    for name, json_from in (("zero", "zero"), ("unigram_below", "base")):
        out = tmp_path / name
        out.mkdir()
        hf_tokenizer_from_sentencepiece(tied[json_from], allow_inexact=True).save_pretrained(out)
        (out / "tokenizer.model").write_bytes(tied[name].read_bytes())
        with pytest.warns(UserWarning, match="tokenizer.json"):
            tok = load_tokenizer(str(out))
        sp = spm.SentencePieceProcessor(model_file=str(tied[name]))
        assert _agree(tok, sp, HELDOUT) == len(HELDOUT), name


def test_user_defined_pieces_are_refused_and_loaded_exactly(tmp_path: Path) -> None:
    """SentencePiece matches user-defined pieces after the dummy prefix ("[MASK]" → ▁ [MASK]);
    HF added tokens cannot, so the conversion refuses and the loader uses SentencePiece."""
    symbols = ["[MASK]", "臺灣", "<|im_start|>"]
    model = train_sentencepiece(
        [write(chinese_lines(300) + english_lines(300), tmp_path / "mix.txt")],
        tmp_path / "ud",
        600,
        user_defined_symbols=symbols,
        character_coverage=1.0,
    )
    sp = spm.SentencePieceProcessor(model_file=str(model))
    lines = [
        "[MASK]",
        " [MASK] the river",
        "the[MASK]river  [MASK]",
        "<|im_start|>user\n臺灣天氣",
        "我們臺灣 臺灣x",
        *[line.replace("天氣", "[MASK]") for line in HELDOUT],
    ]
    assert any(sp.piece_to_id(s) in sp.encode(line) for line in lines for s in symbols)
    forced = hf_tokenizer_from_sentencepiece(model, allow_inexact=True)
    assert _agree(forced, sp, lines) < len(lines)
    with pytest.raises(InexactConversionError, match="user-defined"):
        hf_tokenizer_from_sentencepiece(model)
    with pytest.warns(UserWarning, match="user-defined"):
        tok = load_tokenizer(str(model))
    assert _agree(tok, sp, lines) == len(lines)


def test_unigram_model_loads_through_sentencepiece(tied: dict, tmp_path: Path) -> None:
    unigram = tiny_unigram(tmp_path)
    sp = spm.SentencePieceProcessor(model_file=str(unigram))
    with pytest.warns(UserWarning, match="UNIGRAM"):
        tok = load_tokenizer(str(unigram))
    assert _agree(tok, sp, HELDOUT) == len(HELDOUT)


def test_real_llama2_converts_exactly(llama2_tokenizer_model: Path) -> None:
    """transformers' own conversion differs on space runs; ours must not."""
    sp = spm.SentencePieceProcessor(model_file=str(llama2_tokenizer_model))
    tok = load_tokenizer(str(llama2_tokenizer_model))
    runs = [s for n in range(1, 40) for s in (" " * n, f"a{' ' * n}b", f"\n{' ' * n}x")]
    for line in [*EDGE_CASES, "Hello world, it's 2024!", "中華民國臺灣，今天天氣很好。", *runs]:
        assert tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line), repr(line)
