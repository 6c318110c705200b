"""Settings of ``bailong-probe-init`` (the initial loss of each embedding initialization,
before training) and their door, ``validate_probe_config``: every method and named variant is
checked before the base model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bailong.core.checks import ConfigError, check_choice, collect, fail, merge_schema, raise_all
from bailong.embeddings.config import (
    EmbeddingInitConfig,
    check_embedding_init,
    check_fit,
    embedding_init_methods,
)
from bailong.model.config import DTYPES, ModelConfig, QuantizationConfig, check_cpu_4bit_shapes
from bailong.tokenizer.config import MIN_BYTE_FALLBACK_PIECES
from bailong.training import preflight


@dataclass
class ProbeConfig:
    """``bailong-probe-init``: initial loss of each embedding initialization, before training."""

    task_name: str = "probe_init"
    paths: dict[str, Any] = field(default_factory=dict)
    model: ModelConfig = field(default_factory=ModelConfig)
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    # Shared settings of every method (weights, space piece, ...); `method` is set per row.
    embedding_init: EmbeddingInitConfig = field(default_factory=EmbeddingInitConfig)
    methods: list[str] = field(
        default_factory=lambda: ["zip_tie", "subword_mean", "mean", "mean_cov", "random", "zeros"]
    )
    # The base model's SentencePiece model; None trains one (sample_vocab_size pieces) on the
    # non-held-out part of the texts.
    original_tokenizer: str | None = None
    sample_vocab_size: int = 600
    # An append-only extension of original_tokenizer; None merges in up to new_pieces CJK
    # pieces of a small BPE trained on the non-held-out target text (the real merge).
    extended_tokenizer: str | None = None
    new_pieces: int = 300
    target_files: list[str] = field(default_factory=lambda: ["bundled:zh_tw.txt"])
    english_files: list[str] = field(default_factory=lambda: ["bundled:en.txt"])
    heldout_fraction: float = 0.2  # the last fraction of each file's documents is scored
    block_size: int = 256
    # A random model (model.name_or_path null) is first trained this many steps on the
    # non-held-out text with the original tokenizer, so it has something to lose.
    base_train_steps: int = 40
    seed: int = 0
    # Extra rows, one per named variant: overrides of `embedding_init` that name their method,
    # e.g. {zip_tie_in_last: {method: zip_tie, input_weights: last}} (scored after `methods`).
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)


def validate_probe_config(cfg: DictConfig) -> ProbeConfig:
    """The probe's door: schema merge plus the checks that name key, value and what is allowed."""
    settings = merge_schema(ProbeConfig, cfg)
    # `method` and `original_tokenizer` are set by the probe per row; check the rest.
    check_embedding_init(replace(settings.embedding_init, method="none"))
    methods = embedding_init_methods()[1:]
    if not settings.methods:
        fail("methods", [], f"list at least one of {list(methods)}")
    for i, method in enumerate(settings.methods):
        check_choice(f"methods[{i}]", method, methods)
    for key in ("original_tokenizer", "extended_tokenizer"):
        path = getattr(settings, key)
        if path is not None and not Path(path).expanduser().is_file():
            fail(key, path, "no such SentencePiece .model file")
    if settings.extended_tokenizer is None and settings.new_pieces <= 0:
        fail("new_pieces", settings.new_pieces, "must be a positive number of pieces to merge in")
    too_few = settings.sample_vocab_size < MIN_BYTE_FALLBACK_PIECES
    if settings.original_tokenizer is None and too_few:
        fail("sample_vocab_size", settings.sample_vocab_size, "must be at least 300")
    # With the model and both tokenizers given nothing is trained: whole files may be held out.
    nothing_trained = all(
        (settings.model.name_or_path, settings.original_tokenizer, settings.extended_tokenizer)
    )
    fraction = settings.heldout_fraction
    if not (0.0 < fraction < 1.0 or (fraction == 1.0 and nothing_trained)):
        fail(
            "heldout_fraction",
            settings.heldout_fraction,
            "must lie in (0, 1), or be 1 (whole files) when model.name_or_path, "
            "original_tokenizer and extended_tokenizer are all given",
        )
    probe_arms(settings)  # each variant is checked here, before any model is loaded
    if settings.block_size < 2:
        fail("block_size", settings.block_size, "must be at least 2")
    if settings.base_train_steps < 0:
        fail("base_train_steps", settings.base_train_steps, "must be >= 0")
    check_choice("model.dtype", settings.model.dtype, DTYPES)
    check_choice("quantization.compute_dtype", settings.quantization.compute_dtype, DTYPES)
    problems = preflight.source_problems(
        "model.name_or_path", settings.model.name_or_path, "config.json"
    )
    if settings.quantization.enabled and not preflight.cuda_available():
        problems += collect([lambda: check_cpu_4bit_shapes(settings.model)])
    raise_all(problems)
    return settings


def probe_arms(settings: ProbeConfig) -> list[tuple[str, EmbeddingInitConfig]]:
    """The probe's rows after the reference: ``(name, embedding_init)`` for every method, then
    every variant (``embedding_init`` with the variant's overrides), each checked."""
    arms = [(m, replace(settings.embedding_init, method=m)) for m in settings.methods]
    for _, arm in arms:
        check_fit(arm, "embedding_init")
    for name, overrides in settings.variants.items():
        key = f"variants.{name}"
        if name in settings.methods:
            fail(key, overrides, "a variant's name must differ from every name in `methods`")
        if "method" not in overrides:
            fail(f"{key}.method", None, "each variant names its method")
        try:
            merged = OmegaConf.merge(OmegaConf.structured(settings.embedding_init), overrides)
        except OmegaConfBaseException as err:
            raise ConfigError(f"{key}: {str(err).strip()}") from None
        variant = OmegaConf.to_object(merged)
        assert isinstance(variant, EmbeddingInitConfig)
        check_choice(f"{key}.method", variant.method, embedding_init_methods()[1:])
        check_embedding_init(replace(variant, method="none"), key)
        check_fit(variant, key)
        arms.append((name, variant))
    return arms
