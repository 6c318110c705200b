"""A pretrained base with no tokenizer named trains with its own tokenizer, never with a sample
tokenizer trained on the data (whose ids would mean other things to the base's rows). Such a
base trains unextended here (``embedding_init=none``): extending it is ``vocab=extended``, and
the default extended sample tokenizer is refused for it (tests/cli/test_configs.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bailong.tokenizer.train import train_sentencepiece
from bailong.training import preflight
from tests.support.helpers import train_settings
from tests.support.tokenizer_helpers import english_lines, write

UNEXTENDED = ["embedding_init=none"]


def local_base(tmp_path: Path, with_tokenizer: bool) -> Path:
    """A model directory as validation reads it: config.json (tiny Llama widths), and maybe
    the SentencePiece model it was trained with."""
    base = tmp_path / "base"
    base.mkdir()
    config = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
              "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 300}  # fmt: skip
    (base / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if with_tokenizer:
        trained = train_sentencepiece(
            [write(english_lines(), tmp_path / "en.txt")], tmp_path / "sp", 300
        )
        shutil.copy(trained, base / "tokenizer.model")
    return base


def test_a_local_base_brings_its_own_tokenizer(tmp_path: Path) -> None:
    base = local_base(tmp_path, with_tokenizer=True)
    settings = train_settings(tmp_path, [f"model.name_or_path={base}", *UNEXTENDED])
    assert settings.tokenizer.name_or_path == str(base)


def test_a_directory_without_a_tokenizer_keeps_the_sample_tokenizer(tmp_path: Path) -> None:
    """Such a directory is a random model bailong built (tests, studies), not a real base."""
    base = local_base(tmp_path, with_tokenizer=False)
    assert train_settings(tmp_path, [f"model.name_or_path={base}"]).tokenizer.name_or_path is None


def test_a_hub_base_uses_its_hub_tokenizer_and_a_named_tokenizer_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "source_problems", lambda *args: [])  # no hub here
    settings = train_settings(
        tmp_path, ["model=llama2_7b", "trainer=cpu", "optim.name=adamw", *UNEXTENDED]
    )
    assert settings.tokenizer.name_or_path == "meta-llama/Llama-2-7b-hf"
    named = train_settings(
        tmp_path, ["model=llama2_7b", "tokenizer.name_or_path=my/tok", *UNEXTENDED]
    )
    assert named.tokenizer.name_or_path == "my/tok"
    assert train_settings(tmp_path).tokenizer.name_or_path is None, "a model built from config"
