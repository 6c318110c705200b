"""Structured schemas for the train config, and the one door every config passes through.

``validate_train_config`` merges a composed Hydra config onto these dataclasses (so unknown
keys and wrongly typed values fail with the key's full name), then checks the values that
types cannot express. It runs before any tokenizer, model or data is loaded, so a sweep of
hundreds of jobs fails in its first second on a typo rather than after a 7B model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


class ConfigError(ValueError):
    """A config value is invalid; the message names the key, the value and what is allowed."""


class EmbeddingMode(str, Enum):
    """How ``embed_tokens`` and ``lm_head`` train: not at all, fully, or through LoRA."""

    frozen = "frozen"
    full = "full"
    lora = "lora"


class Schedule(str, Enum):
    constant = "constant"
    linear = "linear"
    cosine = "cosine"


class NonFinitePolicy(str, Enum):
    """What a NaN/inf training loss does: stop the run with an error, or skip that batch and count it."""

    stop = "stop"
    skip = "skip"


DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class ModelConfig:
    # Hugging Face hub name or local directory; None builds a random Llama from `config`.
    name_or_path: str | None = None
    # LlamaConfig keyword arguments for a model built on the fly (vocab_size comes from the
    # tokenizer). Ignored when name_or_path is set.
    config: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float32"
    gradient_checkpointing: bool = False
    trust_remote_code: bool = False
    attn_implementation: str = "sdpa"
    seed: int = 0  # seed of the random weights of a model built from `config`


@dataclass
class QuantizationConfig:
    enabled: bool = True
    quant_type: str = "nf4"
    double_quant: bool = True
    compute_dtype: str = "bfloat16"
    # Modules kept in full precision: the (resized, re-initialized) embeddings and head.
    skip_modules: list[str] = field(default_factory=lambda: ["embed_tokens", "lm_head"])


@dataclass
class LoraConfig:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    # "all-linear" (peft's shorthand) or explicit module names.
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    embeddings: EmbeddingMode = EmbeddingMode.full
    bias: str = "none"


@dataclass
class TokenizerConfig:
    # A tokenizer directory, a SentencePiece ``.model`` file, or a hub name. None trains a
    # small byte-fallback SentencePiece model on the data files (cached), so the default run
    # needs nothing downloaded.
    name_or_path: str | None = None
    sample_vocab_size: int = 2000


# Weightings of a new token's original pieces (zip_tie): see bailong/embeddings/combine.py.
PIECE_WEIGHTS = ("uniform", "first", "last")
SPACE_PIECE = ("keep", "drop")


@dataclass
class EmbeddingInitConfig:
    """Vocabulary extension: resize embed_tokens/lm_head to the tokenizer and fill the new rows.

    ``method: none`` keeps the model as loaded (the tokenizer must then fit the model).
    """

    method: str = "none"
    # The SentencePiece model the base was trained with (a .model file, or a directory holding
    # tokenizer.model): it splits each new token's text into the pieces its rows come from.
    original_tokenizer: str | None = None
    # Round the new vocabulary size up to a multiple of this (rows past the tokenizer are
    # initialized too); None = exactly the tokenizer's size.
    pad_to_multiple_of: int | None = None
    seed: int = 0  # random and mean_cov sampling
    # zip_tie only: how a new row weights its original pieces, per matrix.
    input_weights: str = "uniform"
    output_weights: str = "uniform"
    # zip_tie only: copy the new input rows into lm_head instead of combining lm_head rows.
    tie_output_to_input: bool = False
    # Piece methods: a new token that starts with "▁" (a space) either keeps the "▁" piece
    # among its pieces ("keep") or is split without it ("drop").
    space_piece: str = "keep"
    # Piece methods: prepend BOS (<s>) to every new token's pieces.
    include_bos: bool = False
    # mean_cov only: the sampling covariance is cov_scale x the old rows' covariance
    # (1e-9 is transformers' mean_resizing value).
    cov_scale: float = 1.0e-9


@dataclass
class DataConfig:
    # Plain text (documents separated by blank lines) or JSONL files; "bundled" means the
    # sample corpus shipped inside the package.
    files: list[str] = field(default_factory=lambda: ["bundled"])
    text_field: str = "text"
    block_size: int = 128
    batch_size: int = 8
    val_fraction: float = 0.1
    num_workers: int = 0


@dataclass
class OptimConfig:
    name: str = "adamw"
    lr: float = 2e-4
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    warmup_steps: int = 0
    schedule: Schedule = Schedule.cosine
    min_lr_ratio: float = 0.1
    on_nonfinite_loss: NonFinitePolicy = NonFinitePolicy.stop


@dataclass
class CheckpointConfig:
    enabled: bool = True
    every_n_train_steps: int = 50
    keep: int = 2  # how many step checkpoints to keep besides last.ckpt


@dataclass
class CallbacksConfig:
    progress_bar: str = "tqdm"  # tqdm | rich | none
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)


@dataclass
class TrainConfig:
    task_name: str = "train"
    tags: list[str] = field(default_factory=list)
    seed: int = 42
    # A checkpoint file to resume from, or "last": <output_dir>/checkpoints/last.ckpt when it
    # exists (rerun with hydra.run.dir=<the killed run's dir> ckpt_path=last).
    ckpt_path: str | None = None
    validate_before_fit: bool = True
    save_adapter: bool = True
    stage: str = "pretrain"
    optimized_metric: str | None = None
    paths: dict[str, Any] = field(default_factory=dict)
    model: ModelConfig = field(default_factory=ModelConfig)
    quantization: QuantizationConfig = field(default_factory=QuantizationConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    embedding_init: EmbeddingInitConfig = field(default_factory=EmbeddingInitConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    callbacks: CallbacksConfig = field(default_factory=CallbacksConfig)
    trainer: dict[str, Any] = field(default_factory=dict)
    logger: dict[str, Any] = field(default_factory=dict)


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
    # An append-only extension of original_tokenizer; None appends new_pieces frequent CJK
    # characters/bigrams of the non-held-out target text.
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


def _fail(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(key, value, f"allowed values are {list(choices)}")


def embedding_init_methods() -> tuple[str, ...]:
    """``none`` plus every registered initializer (imported lazily: the registry imports torch)."""
    from bailong.embeddings import INIT_METHODS

    return ("none", *INIT_METHODS)


def check_embedding_init(cfg: EmbeddingInitConfig, key: str = "embedding_init") -> None:
    """Checks shared by the train and probe configs."""
    _check_choice(f"{key}.method", cfg.method, embedding_init_methods())
    _check_choice(f"{key}.input_weights", cfg.input_weights, PIECE_WEIGHTS)
    _check_choice(f"{key}.output_weights", cfg.output_weights, PIECE_WEIGHTS)
    _check_choice(f"{key}.space_piece", cfg.space_piece, SPACE_PIECE)
    if cfg.pad_to_multiple_of is not None and cfg.pad_to_multiple_of <= 0:
        _fail(f"{key}.pad_to_multiple_of", cfg.pad_to_multiple_of, "must be positive or null")
    if cfg.cov_scale <= 0:
        _fail(f"{key}.cov_scale", cfg.cov_scale, "must be positive")
    if cfg.method == "none":
        return
    if cfg.original_tokenizer is None:
        _fail(
            f"{key}.original_tokenizer",
            None,
            f"{key}.method={cfg.method!r} needs the SentencePiece model the base was trained with "
            "(e.g. shared/data/tokenizers/llama2/tokenizer.model)",
        )
    path = Path(cfg.original_tokenizer).expanduser()
    if not (path.is_file() or (path / "tokenizer.model").is_file()):
        _fail(
            f"{key}.original_tokenizer",
            cfg.original_tokenizer,
            "no SentencePiece .model file there (nor a directory holding tokenizer.model)",
        )


def _check_values(cfg: TrainConfig) -> None:
    """Checks that types cannot express; each names the key, the bad value and what is allowed."""
    if cfg.lora.r <= 0:
        _fail("lora.r", cfg.lora.r, "the LoRA rank must be a positive integer")
    if cfg.lora.alpha <= 0:
        _fail("lora.alpha", cfg.lora.alpha, "LoRA alpha must be positive")
    if not 0.0 <= cfg.lora.dropout < 1.0:
        _fail("lora.dropout", cfg.lora.dropout, "dropout must lie in [0, 1)")
    if not cfg.lora.target_modules:
        _fail("lora.target_modules", cfg.lora.target_modules, "name at least one module")
    _check_choice("model.dtype", cfg.model.dtype, DTYPES)
    _check_choice("quantization.quant_type", cfg.quantization.quant_type, ("nf4", "fp4"))
    _check_choice("quantization.compute_dtype", cfg.quantization.compute_dtype, DTYPES)
    if cfg.model.name_or_path is None and not cfg.model.config:
        _fail("model.config", {}, "give model.name_or_path or a LlamaConfig under model.config")
    max_pos = cfg.model.config.get("max_position_embeddings")
    if cfg.data.block_size <= 1:
        _fail("data.block_size", cfg.data.block_size, "must be at least 2 tokens")
    if max_pos is not None and cfg.model.name_or_path is None and cfg.data.block_size > max_pos:
        _fail(
            "data.block_size",
            cfg.data.block_size,
            f"must not exceed the model context model.config.max_position_embeddings={max_pos}",
        )
    if cfg.data.batch_size <= 0:
        _fail("data.batch_size", cfg.data.batch_size, "must be a positive integer")
    if not 0.0 < cfg.data.val_fraction < 1.0:
        _fail("data.val_fraction", cfg.data.val_fraction, "must lie in (0, 1)")
    for i, path in enumerate(cfg.data.files):
        if path != "bundled" and not Path(path).expanduser().exists():
            _fail(f"data.files[{i}]", path, "no such file or directory")
    if not cfg.data.files:
        _fail("data.files", [], "list at least one file (or 'bundled')")
    if cfg.tokenizer.name_or_path is None and cfg.tokenizer.sample_vocab_size < 300:
        _fail(
            "tokenizer.sample_vocab_size",
            cfg.tokenizer.sample_vocab_size,
            "a byte-fallback tokenizer needs at least 300 pieces (259 are bytes and specials)",
        )
    check_embedding_init(cfg.embedding_init)
    _check_choice("optim.name", cfg.optim.name, ("adamw", "paged_adamw", "paged_adamw_8bit"))
    if cfg.optim.lr <= 0:
        _fail("optim.lr", cfg.optim.lr, "the learning rate must be positive")
    if cfg.optim.warmup_steps < 0:
        _fail("optim.warmup_steps", cfg.optim.warmup_steps, "must be >= 0")
    if not 0.0 <= cfg.optim.min_lr_ratio <= 1.0:
        _fail("optim.min_lr_ratio", cfg.optim.min_lr_ratio, "must lie in [0, 1]")
    if cfg.ckpt_path not in (None, "last") and not Path(cfg.ckpt_path).expanduser().is_file():
        _fail("ckpt_path", cfg.ckpt_path, "no checkpoint file there (or use 'last')")
    _check_choice("callbacks.progress_bar", cfg.callbacks.progress_bar, ("tqdm", "rich", "none"))
    if cfg.callbacks.checkpoint.every_n_train_steps <= 0:
        _fail(
            "callbacks.checkpoint.every_n_train_steps",
            cfg.callbacks.checkpoint.every_n_train_steps,
            "must be a positive integer",
        )
    if cfg.model.trust_remote_code and cfg.model.name_or_path is None:
        _fail("model.trust_remote_code", True, "only meaningful with model.name_or_path")


def _check_device(cfg: TrainConfig) -> None:
    """Reject set-ups the hardware cannot run, before anything loads."""
    import torch

    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    wants_gpu = accelerator in ("gpu", "cuda")
    if wants_gpu and not torch.cuda.is_available():
        _fail("trainer.accelerator", accelerator, "no CUDA GPU is visible; use trainer=cpu")
    on_cpu = accelerator == "cpu" or not torch.cuda.is_available()
    if cfg.optim.name.startswith("paged") and on_cpu:
        _fail("optim.name", cfg.optim.name, "paged optimizers need a CUDA GPU; use 'adamw' on CPU")
    if on_cpu and cfg.quantization.enabled and cfg.quantization.compute_dtype == "float16":
        _fail(
            "quantization.compute_dtype",
            "float16",
            "4-bit float16 compute is unsupported on CPU; use bfloat16 or float32",
        )


def to_schema(cfg: DictConfig) -> TrainConfig:
    """Merge a composed config onto the schema; type and unknown-key errors become ConfigError."""
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    raw.pop("hydra", None)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(TrainConfig), raw)
    except OmegaConfBaseException as err:
        raise ConfigError(str(err).strip()) from None
    obj = OmegaConf.to_object(merged)
    assert isinstance(obj, TrainConfig)
    return obj


def validate_train_config(cfg: DictConfig) -> TrainConfig:
    """The one door: a typed, checked TrainConfig, or a ConfigError naming what is wrong."""
    settings = to_schema(cfg)
    _check_values(settings)
    _check_device(settings)
    return settings


def validate_probe_config(cfg: DictConfig) -> ProbeConfig:
    """The probe's door: schema merge plus the checks that name key, value and what is allowed."""
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    raw.pop("hydra", None)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(ProbeConfig), raw)
    except OmegaConfBaseException as err:
        raise ConfigError(str(err).strip()) from None
    settings = OmegaConf.to_object(merged)
    assert isinstance(settings, ProbeConfig)
    # `method` and `original_tokenizer` are set by the probe per row; check the rest.
    check_embedding_init(replace(settings.embedding_init, method="none"))
    methods = embedding_init_methods()[1:]
    if not settings.methods:
        _fail("methods", [], f"list at least one of {list(methods)}")
    for i, method in enumerate(settings.methods):
        _check_choice(f"methods[{i}]", method, methods)
    for key in ("original_tokenizer", "extended_tokenizer"):
        path = getattr(settings, key)
        if path is not None and not Path(path).expanduser().is_file():
            _fail(key, path, "no such SentencePiece .model file")
    if settings.original_tokenizer is None and settings.sample_vocab_size < 300:
        _fail("sample_vocab_size", settings.sample_vocab_size, "must be at least 300")
    if not 0.0 < settings.heldout_fraction < 1.0:
        _fail("heldout_fraction", settings.heldout_fraction, "must lie in (0, 1)")
    if settings.block_size < 2:
        _fail("block_size", settings.block_size, "must be at least 2")
    if settings.base_train_steps < 0:
        _fail("base_train_steps", settings.base_train_steps, "must be >= 0")
    _check_choice("model.dtype", settings.model.dtype, DTYPES)
    _check_choice("quantization.compute_dtype", settings.quantization.compute_dtype, DTYPES)
    return settings

