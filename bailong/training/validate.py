"""The one door every train config passes through, before any tokenizer, model or data loads.

``validate_train_config`` merges a composed Hydra config onto ``TrainConfig`` (so unknown keys
and wrongly typed values fail with the key's full name), runs each stage's checks (its settings
and checks live beside its code, ``bailong/<stage>/config.py``), the checks that span two
stages, the range checks (``bailong.training.range_checks``) and the machine and source checks
(``bailong.training.preflight``), and reports every problem found in one ``ConfigError``. A sweep of
hundreds of jobs fails in its first second on a typo rather than after a 7B model loads.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from omegaconf import DictConfig

from bailong.core.checks import collect, fail, merge_schema, raise_all
from bailong.data.config import check_data
from bailong.embeddings.config import check_embedding_init
from bailong.model.config import EmbeddingMode, check_model_settings
from bailong.tokenizer.config import check_tokenizer
from bailong.training.config import (
    TrainConfig,
    check_callbacks,
    check_logger_paths,
    check_optim,
)
from bailong.training.preflight import train_preflight
from bailong.training.range_checks import check_train_ranges

# Files that make a model directory a tokenizer directory too (AutoTokenizer reads any of them).
BASE_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json")


def to_schema(cfg: DictConfig) -> TrainConfig:
    """Merge a composed config onto the schema; type and unknown-key errors become ConfigError."""
    return merge_schema(TrainConfig, cfg)


def validate_train_config(cfg: DictConfig) -> TrainConfig:
    """The one door: a typed, checked TrainConfig, or one ConfigError naming every problem of
    the values (first one), their ranges, and the machine and model sources
    (bailong.training.preflight)."""
    settings = to_schema(cfg)
    raise_all(value_problems(settings) + collect([lambda: train_preflight(settings)]))
    return base_tokenizer_by_default(settings)


def base_tokenizer_by_default(settings: TrainConfig) -> TrainConfig:
    """A pretrained base with no tokenizer named gets its own tokenizer (its hub name, or its
    directory when that holds one), not a sample tokenizer trained on the data: the base's
    embedding rows belong to the ids of the tokenizer it was trained with. A directory without
    a tokenizer (a random model bailong built and cached) keeps the sample tokenizer. Written
    into the settings, so the run's saved config and W&B say which tokenizer was used."""
    base = settings.model.name_or_path
    if settings.tokenizer.name_or_path is not None or not brings_its_tokenizer(base):
        return settings
    settings.tokenizer = replace(settings.tokenizer, name_or_path=base)
    return settings


def brings_its_tokenizer(base: str | None) -> bool:
    """Whether ``model.name_or_path`` is a pretrained base with a tokenizer of its own: a hub
    name, or a directory holding tokenizer files (not a random model bailong built)."""
    if base is None:
        return False
    local = Path(base).expanduser()
    return not local.is_dir() or any((local / name).is_file() for name in BASE_TOKENIZER_FILES)


def value_problems(settings: TrainConfig) -> list[str]:
    """The problems of the values alone (first one per stage, and the ranges): what a config
    can be told without looking at the machine or the model's source."""
    return collect([lambda: _check_values(settings), lambda: check_train_ranges(settings)])


def _check_values(cfg: TrainConfig) -> None:
    """Each stage's own checks, then those that need two stages; each names key, value and
    what is allowed."""
    check_model_settings(cfg.model, cfg.quantization, cfg.lora)
    check_data(cfg.data)
    check_tokenizer(cfg.tokenizer)
    check_embedding_init(cfg.embedding_init)
    check_optim(cfg.optim)
    check_callbacks(cfg.callbacks)
    check_logger_paths(cfg.logger)
    _check_across_stages(cfg)


def _check_across_stages(cfg: TrainConfig) -> None:
    q = cfg.quantization
    if cfg.trainer.get("strategy") == "fsdp" and q.enabled and q.quant_storage != q.compute_dtype:
        fail(
            "quantization.quant_storage",
            q.quant_storage,
            f"FSDP shards floating-point tensors only; set it to {q.compute_dtype!r} "
            "(the compute dtype)",
        )
    if (
        cfg.lora.enabled
        and cfg.lora.embeddings is EmbeddingMode.new_rows
        and cfg.embedding_init.method == "none"
    ):
        fail(
            "lora.embeddings",
            "new_rows",
            "it trains the rows a vocabulary extension adds, and embedding_init=none adds none; "
            "set embedding_init (e.g. embedding_init=zip_tie) or use lora.embeddings=full",
        )
    tok = cfg.tokenizer
    if (
        brings_its_tokenizer(cfg.model.name_or_path)
        and tok.name_or_path is None
        and tok.sample_kind == "extended"
        and cfg.embedding_init.method != "none"
    ):
        fail(
            "tokenizer",
            "sample_extended",
            f"it extends the stand-in original tokenizer of the tiny random models, not the "
            f"tokenizer of model.name_or_path={cfg.model.name_or_path!r}: extend the base's own "
            "tokenizer with vocab=extended (bailong-extend-tokenizer), or train on it unextended "
            "with vocab=original or embedding_init=none",
        )
    max_pos = cfg.model.config.get("max_position_embeddings")
    if max_pos is not None and cfg.model.name_or_path is None and cfg.data.block_size > max_pos:
        fail(
            "data.block_size",
            cfg.data.block_size,
            f"must not exceed the model context model.config.max_position_embeddings={max_pos}",
        )
    if cfg.ckpt_path not in (None, "last") and not Path(cfg.ckpt_path).expanduser().is_file():
        fail("ckpt_path", cfg.ckpt_path, "no checkpoint file there (or use 'last')")
