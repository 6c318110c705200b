"""The bailong-extend-tokenizer config validates, runs end to end, and feeds the train app."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import sentencepiece as spm
from omegaconf import DictConfig
from transformers import AutoTokenizer

from bailong.core.checks import ConfigError
from bailong.tokenizer.extend import extend_tokenizer
from bailong.tokenizer.extend_config import validate_extend_tokenizer_config
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.train import train_sentencepiece
from tests.support.helpers import compose_app, compose_train
from tests.support.tokenizer_helpers import (
    chinese_lines,
    english_lines,
    tiny_models,
    tiny_unigram,
    write,
)


def compose_extend(overrides: list[str]) -> DictConfig:
    """The config as the CLI composes it (Hydra's run dir set to a placeholder)."""
    return compose_app("extend_tokenizer", overrides, "unused")


@pytest.fixture
def small_inputs(tmp_path: Path) -> list[str]:
    base, _ = tiny_models(tmp_path)
    zh = write(chinese_lines(300, seed=5), tmp_path / "zh_docs.txt")
    en = write(english_lines(100, seed=5), tmp_path / "en_docs.txt")
    return [
        f"base_model={base}",
        f"corpus.files=[{zh}]",
        f"corpus.en_files=[{en}]",
        f"output_dir={tmp_path / 'out'}",
        "spm.vocab_size=500",
        "merge.max_added=150",
    ]


def test_runs_end_to_end_without_shared_data(small_inputs: list[str], tmp_path: Path) -> None:
    settings = validate_extend_tokenizer_config(compose_extend(small_inputs))
    report = extend_tokenizer(settings)
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == report
    assert report["pieces_added"] == 150 == report["merge"]["added"]
    zh, en = report["languages"]["zh_tw"], report["languages"]["en"]
    assert zh["chars_per_token_after"] > zh["chars_per_token_before"]
    assert en["lines_changed"] == 0 and report["warnings"] == []
    assert report["hf_conversion"] == {"tokenizer_json": True, "lines_checked": zh["lines"] + 100}
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    tok = load_tokenizer(str(out))
    assert len(tok) == sp.get_piece_size() == report["extended_vocab_size"]
    line = chinese_lines(1, seed=99)[0]
    assert tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line)


def test_existing_unigram_addition_merged_like_chinese_llama(
    small_inputs: list[str], tmp_path: Path
) -> None:
    """addition_model + append_all + zero: every new piece appended; tokenizer.json is not
    written (tied scores), the report says why, and load_tokenizer encodes exactly."""
    unigram = tiny_unigram(tmp_path)
    overrides = [o for o in small_inputs if not o.startswith("merge.max_added")] + [
        f"addition_model={unigram}",
        "merge.mode=append_all",
        "merge.score_policy=zero",
        "merge.cjk_only=false",
        "merge.max_added=null",
    ]
    with pytest.warns(UserWarning, match="tokenizer.json not written"):
        report = extend_tokenizer(validate_extend_tokenizer_config(compose_extend(overrides)))
    out = tmp_path / "out"
    merge = report["merge"]
    assert merge["addition_model_type"] == "UNIGRAM" and merge["added"] == merge["candidates"]
    assert report["pieces_added"] == merge["added"] and not (out / "addition.vocab").exists()
    assert report["hf_conversion"]["tokenizer_json"] is False
    assert not (out / "tokenizer.json").exists()
    assert any("tokenizer.json not written" in w for w in report["warnings"])
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    with pytest.warns(UserWarning, match="SentencePiece-backed"):
        tok = load_tokenizer(str(out))
    auto = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    for line in chinese_lines(100, seed=17):
        assert tok(line, add_special_tokens=False)["input_ids"] == sp.encode(line)
        assert auto(line, add_special_tokens=False)["input_ids"] == sp.encode(line)


def test_changed_english_segmentation_is_warned(small_inputs: list[str], tmp_path: Path) -> None:
    """An addition with English pieces, not filtered, scored 0: English changes, and says so."""
    english = train_sentencepiece(
        [write(english_lines(300, seed=8), tmp_path / "en_add.txt")], tmp_path / "en_add", 400
    )
    overrides = [*small_inputs, f"addition_model={english}", "merge.cjk_only=false"]
    overrides += ["merge.score_policy=zero"]
    with pytest.warns(UserWarning, match="changes English segmentation"):
        report = extend_tokenizer(validate_extend_tokenizer_config(compose_extend(overrides)))
    changed = report["languages"]["en"]["lines_changed"]
    assert changed > 0
    assert any(f"{changed} of 100 English lines" in w for w in report["warnings"])


def test_opencc_converts_training_text(small_inputs: list[str], tmp_path: Path) -> None:
    simplified = write(["我们用电脑训练语言模型。"] * 50, tmp_path / "simplified.txt")
    zh = next(o for o in small_inputs if o.startswith("corpus.files")).split("[")[1].rstrip("]")
    overrides = [o for o in small_inputs if not o.startswith("corpus.files")]
    overrides += [f"corpus.files=[{zh},{simplified}]", "corpus.opencc=s2twp"]
    overrides += ["corpus.heldout_fraction=0"]
    extend_tokenizer(validate_extend_tokenizer_config(compose_extend(overrides)))
    text = (tmp_path / "out" / "corpus" / "train_zh.txt").read_text(encoding="utf-8")
    assert "我們用電腦訓練語言模型" in text and "们" not in text


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("corpus.opencc=s2xx", "corpus.opencc"),
        ("spm.vocab_size=10", "spm.vocab_size"),
        ("merge.max_added=-1", "merge.max_added"),
        ("merge.score_policy=high", "score_policy"),
        ("corpus.heldout_fraction=1.5", "corpus.heldout_fraction"),
        ("base_model=/no/such/tokenizer.model", "base_model"),
        ("addition_model=/no/such/chinese_sp.model", "addition_model"),
        ("merge.mode=peer", "merge.mode"),
    ],
)
def test_bad_values_name_the_key(small_inputs: list[str], override: str, key: str) -> None:
    overrides = [o for o in small_inputs if o.split("=")[0] != override.split("=")[0]]
    with pytest.raises(ConfigError, match=key):
        validate_extend_tokenizer_config(compose_extend([*overrides, override]))


def test_train_app_composes_with_extended_tokenizer(tmp_path: Path) -> None:
    """The default output_dir of the extend app is where tokenizer=extended looks."""
    # composed, not validated: validation rejects the extended tokenizer until it is built
    cfg = compose_train(tmp_path, ["tokenizer=extended"])
    extend_cfg = compose_extend([f"paths.cache_dir={Path(cfg.paths.cache_dir)}"])
    assert cfg.tokenizer.name_or_path == extend_cfg.output_dir


def test_cli_default_reaches_paper_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default config on the shared corpora: 27,241 appended → 59,241 (about 4 s)."""
    from bailong.cli.extend_tokenizer import main
    from tests.conftest import require_shared

    require_shared("corpora/zh_tw")
    require_shared("tokenizers/llama2/tokenizer.model")
    out = tmp_path / "extended"
    monkeypatch.setattr(
        sys, "argv", ["bailong-extend-tokenizer", f"output_dir={out}", f"paths.log_dir={tmp_path}"]
    )
    main()
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["extended_vocab_size"] == 59241 and report["pieces_added"] == 27241
    assert report["languages"]["en"]["lines_changed"] == 0
