"""The saved Hugging Face directory encodes exactly like the SentencePiece model, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer

from bailong.tokenizer import load_tokenizer, merge_sentencepiece, save_tokenizer_dir
from tests.tokenizer_helpers import chinese_lines, english_lines, tiny_models

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
    loaded = load_tokenizer(str(merged_dir))
    assert len(auto) == sp.get_piece_size()
    for line in chinese_lines(40, seed=3) + english_lines(40, seed=3) + EDGE_CASES:
        ids = sp.encode(line)
        assert auto(line, add_special_tokens=False)["input_ids"] == ids, line
        assert loaded(line, add_special_tokens=False)["input_ids"] == ids, line
        assert auto.decode(ids) == sp.decode(ids)
    assert auto("臺灣")["input_ids"][0] == sp.bos_id()
    assert loaded.pad_token_id == sp.eos_id()


def test_real_llama2_converts_exactly(llama2_tokenizer_model: Path) -> None:
    """transformers' own conversion differs on space runs; ours must not."""
    sp = spm.SentencePieceProcessor(model_file=str(llama2_tokenizer_model))
    tok = load_tokenizer(str(llama2_tokenizer_model))
    for line in [*EDGE_CASES, "Hello world, it's 2024!", "中華民國臺灣，今天天氣很好。"]:
        assert tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line), line
