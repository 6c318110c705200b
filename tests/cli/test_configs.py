"""Every shipped config composes, passes the schema, and (where cheap) builds its objects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bailong.core.checks import ConfigError
from bailong.core.shared_data import ENV_VAR, SHARED_NOT_FOUND, shared_data_dir
from bailong.model.architecture import Architecture
from bailong.model.config import EmbeddingMode
from bailong.model.load import bnb_config
from bailong.model.lora import peft_config
from bailong.training import preflight
from tests.support.helpers import CONF, cache_root, compose_train, group_options, train_settings

# Groups whose every option must validate on a CPU-only machine.
CPU_GROUPS = ["model", "tokenizer", "quantization", "lora", "data", "logger", "callbacks", "debug"]
# Options that only validate together with another group's option. The default vocabulary is
# extended (tokenizer=sample_extended, embedding_init=zip_tie); an unextended tokenizer or a
# pretrained base (with its own tokenizer) trains without new rows.
UNEXTENDED = ["embedding_init=none"]
PRETRAINED_BASES = ("gemma2_2b", "llama2_7b", "llama3_2_1b", "mistral_7b", "qwen2_5_0_5b")
COMPANIONS = {
    ("lora", "none"): ["quantization=none"],
    **{("tokenizer", t): UNEXTENDED for t in ("llama2", "sample_bpe", "sample_byte_level")},
    **{("model", m): UNEXTENDED for m in (*PRETRAINED_BASES, "zh_byte_base_23m")},
}
LLAMA_SHAPED = Architecture("llama", "embed_tokens", "lm_head", False, ("q_proj", "v_proj"))


@pytest.fixture
def sources_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the check that model/tokenizer sources exist (weights, extended tokenizers and hub
    access are absent here; tests/training/test_preflight.py tests that check): these tests are
    about
    the config values."""
    monkeypatch.setattr(preflight, "source_problems", lambda *args: [])


def test_train_default_composes(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path)
    assert cfg.quantization.enabled and cfg.quantization.quant_type == "nf4"
    assert cfg.lora.embeddings is EmbeddingMode.full
    assert cfg.data.files == ["bundled"]
    # the whole method by default: an extended vocabulary, zip-tie rows read from the original
    assert cfg.tokenizer.sample_kind == "extended" and cfg.embedding_init.method == "zip_tie"
    assert cfg.embedding_init.original_tokenizer == cfg.tokenizer.original
    assert Path(cfg.tokenizer.original).is_file()  # the stand-in, built in the test cache


def test_zip_tie_without_extension_names_the_fix(tmp_path: Path) -> None:
    """The one-switch fix a user types, not only the key to set."""
    with pytest.raises(ConfigError, match=r"vocab=extended") as err:
        train_settings(tmp_path, ["tokenizer=sample_bpe", "embedding_init=zip_tie"])
    assert "tokenizer=sample_extended" in str(err.value)


@pytest.mark.parametrize(
    ("group", "option"), [(g, o) for g in CPU_GROUPS for o in group_options(g)]
)
def test_every_group_option_validates(
    tmp_path: Path, group: str, option: str, sources_present: None
) -> None:
    text = (CONF / group / f"{option}.yaml").read_text(encoding="utf-8")
    reads_shared = ("BAILONG_SHARED_DATA", "${shared:", "${paths.llama2_tokenizer}")
    if any(mark in text for mark in reads_shared) and shared_data_dir() is None:
        pytest.skip(f"{group}={option} reads ../shared/data, which is absent here")
    cfg = train_settings(tmp_path, [f"{group}={option}", *COMPANIONS.get((group, option), [])])
    peft_config(cfg.lora, LLAMA_SHAPED)
    bnb_config(cfg.quantization)


@pytest.mark.parametrize("option", group_options("trainer"))
def test_trainer_options_compose(tmp_path: Path, option: str) -> None:
    """GPU trainers are rejected on a CPU machine with a clear message, CPU ones validate."""
    import torch

    overrides = [f"trainer={option}"]
    if option == "fsdp":  # FSDP shards 4-bit weights only when stored in the compute dtype
        with pytest.raises(ConfigError, match=r"quantization\.quant_storage='uint8'"):
            train_settings(tmp_path, overrides)
        overrides.append("quantization.quant_storage=float32")
    if option in ("gpu", "ddp", "fsdp") and not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"trainer\.accelerator"):
            train_settings(tmp_path, overrides)
    else:
        train_settings(tmp_path, overrides)


@pytest.mark.parametrize("option", group_options("experiment"))
def test_every_experiment_composes(tmp_path: Path, option: str, sources_present: None) -> None:
    text = (CONF / "experiment" / f"{option}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# @package _global_"), "experiment files override globally"
    study_written_data(tmp_path, [f"experiment={option}"])
    try:
        train_settings(tmp_path, [f"experiment={option}"])
    except ConfigError as err:  # GPU-only experiments fail clearly here, nothing else may
        shared_default = os.environ.get(ENV_VAR, "../shared/data")
        absent = shared_default in str(err) or SHARED_NOT_FOUND in str(err)
        if shared_data_dir() is None and absent:
            pytest.skip(f"experiment={option} reads ../shared/data, which is absent here: {err}")
        assert "CUDA" in str(err) or "GPU" in str(err), err


def study_written_data(tmp_path: Path, overrides: list[str]) -> None:
    """Create (empty) the data files a config reads from the cache: a study script writes them
    before its runs (experiments/zip_tie_refbase/run_sweep.sh), so here they do not exist yet."""
    cfg = compose_train(tmp_path, overrides)
    cache = cache_root(tmp_path)
    for src in cfg.data.get("sources") or []:
        path = Path(str(src.path)) if src.get("path") else None
        if path is not None and path.is_relative_to(cache) and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lora\.rank"):
        train_settings(tmp_path, ["+lora.rank=8"])
