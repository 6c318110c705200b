"""Structured schemas for the train config, and the one door every config passes through.

``validate_train_config`` merges a composed Hydra config onto these dataclasses (so unknown
keys and wrongly typed values fail with the key's full name), then checks the values that
types cannot express. It runs before any tokenizer, model or data is loaded, so a sweep of
hundreds of jobs fails in its first second on a typo rather than after a 7B model loads.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bailong.eval.mc_formats import FieldMap
from bailong.shared_data import ENV_VAR, shared_path


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
    """What a NaN/inf training loss does: stop the run with an error, or skip the batch, counted."""

    stop = "stop"
    skip = "skip"


class ScorePolicy(str, Enum):
    """Scores given to pieces appended to a SentencePiece model (see bailong.tokenizer.merge)."""

    below_base = "below_base"  # strictly below every base score, in the addition's order
    zero = "zero"  # 0.0 for all, as Chinese-LLaMA-Alpaca's merge script does
    addition = "addition"  # the addition model's own scores


class MergeMode(str, Enum):
    """Which of the addition's missing pieces a merge appends (see bailong.tokenizer.merge)."""

    reachable = "reachable"  # only pieces BPE can build, parts before wholes; the rest counted
    append_all = "append_all"  # every piece, in the addition's order (Chinese-LLaMA's script)


DTYPES = ("float32", "bfloat16", "float16")
EXPORT_BASES = ("dequantized", "original")  # what bailong-export merges LoRA into


@dataclass
class ModelConfig:
    # Hugging Face hub name or local directory; None builds a random model from `config`.
    name_or_path: str | None = None
    # Config keyword arguments for a model built on the fly (vocab_size comes from the
    # tokenizer); `model_type` picks the family (default llama: LlamaConfig). Ignored when
    # name_or_path is set.
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
    # dtype the packed 4-bit weights are stored in: uint8 (bitsandbytes' default), or the
    # compute dtype so FSDP can shard them like any other floating-point parameter.
    quant_storage: str = "uint8"
    # Modules kept in full precision: the (resized, re-initialized) embeddings and head.
    skip_modules: list[str] = field(default_factory=lambda: ["embed_tokens", "lm_head"])


@dataclass
class LoraConfig:
    # false: no adapters, every weight of an unquantized model trains (pretraining from
    # scratch, e.g. a tiny base for a study); the run saves a plain model dir instead.
    enabled: bool = True
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
    # Kind of the sample tokenizer trained when name_or_path is None: sentencepiece (Llama 2's
    # kind, byte fallback) or byte_level (byte-level BPE, the kind of Llama 3 and Qwen).
    sample_kind: str = "sentencepiece"


SAMPLE_TOKENIZER_KINDS = ("sentencepiece", "byte_level")


class BadRecordPolicy(str, Enum):
    """A malformed record stops the run (error naming file and line) or is skipped and counted."""

    error = "error"
    skip = "skip"


SOURCE_FORMATS = ("auto", "text", "lines", "jsonl", "json", "parquet")
SOURCE_SCHEMAS = ("text", "sharegpt", "openai", "alpaca", "parallel")
DATA_KINDS = ("pretrain", "sft")
CHAT_TEMPLATES = ("llama2", "tokenizer")
TRANSLATION_DIRECTIONS = ("both", "zh2en", "en2zh")
OPENCC_CONFIGS = (
    "s2t", "s2tw", "s2twp", "s2hk", "t2s", "t2tw", "t2hk", "t2jp",
    "tw2s", "tw2sp", "tw2t", "hk2s", "hk2t", "jp2t",
)  # fmt: skip


@dataclass
class SourceConfig:
    """One data source of a mix. Exactly one of ``path`` (local) or ``hf_name`` (hub) is set."""

    name: str | None = None  # label in logs and reports; defaults to the path / hub name
    # A file, a directory (its .txt/.jsonl/.json/.parquet files), a glob, or "bundled".
    path: str | None = None
    # A Hugging Face ``datasets`` name (streamed; needs the network unless it is a local folder).
    hf_name: str | None = None
    hf_subset: str | None = None
    hf_split: str = "train"
    # auto picks by suffix: .txt=text (blank-line paragraphs), .jsonl, .json, .parquet.
    format: str = "auto"
    # The text field, or a path into nested JSON such as DRCD's "data[].paragraphs[].context"
    # ("[]" iterates a list; a list of strings at the end is joined with newlines).
    field: str = "text"
    # What a record is: plain text, or a conversation (sharegpt/openai/alpaca), or a zh/en pair
    # turned into translation instructions (parallel).
    schema: str = "text"
    weight: float = 1.0  # share of TOKENS in the mixed stream (normalized over the sources)
    opencc: str | None = None  # convert this source's text, e.g. s2twp for Simplified data
    zh_field: str = "zh"  # parallel: where the Chinese and English sides are
    en_field: str = "en"
    direction: str = "both"  # parallel: both | zh2en | en2zh (both = one instruction each way)
    max_records: int | None = None  # read at most this many records per pass


@dataclass
class CleanConfig:
    """Switchable cleaning steps, applied per source in this order; each counts what it removes."""

    nfkc: bool = False  # Unicode NFKC (note: also turns full-width CJK punctuation half-width)
    opencc: str | None = None  # OpenCC conversion for every source, e.g. s2twp
    min_chars: int = 0
    max_chars: int | None = None
    min_cjk_share: float | None = None  # share of CJK ideographs among non-space characters
    max_cjk_share: float | None = None
    dedup: bool = False  # drop exact duplicates (by hash) within a source


@dataclass
class ChatConfig:
    """How SFT conversations become token ids and labels."""

    template: str = "llama2"  # llama2 ([INST] format) | tokenizer (its own chat_template)
    system_prompt: str | None = None  # used when a conversation has no system turn
    # Pack several conversations per row; position_ids restart per conversation so neither
    # attention nor loss crosses conversations (the HF Llama reads packing from position_ids).
    pack: bool = False


# What an original tokenizer directory may hold (bailong/embeddings/original.py reads either).
ORIGINAL_TOKENIZER_FILES = ("tokenizer.model", "tokenizer.json")
# Weightings of a new token's original pieces (zip_tie): see bailong/embeddings/combine.py.
PIECE_WEIGHTS = ("uniform", "first", "last")
SPACE_PIECE = ("keep", "drop")


@dataclass
class EmbeddingInitConfig:
    """Vocabulary extension: resize embed_tokens/lm_head to the tokenizer and fill the new rows.

    ``method: none`` keeps the model as loaded (the tokenizer must then fit the model).
    """

    method: str = "none"
    # The tokenizer the base was trained with (a SentencePiece .model, a tokenizer.json, or a
    # directory holding either): it splits each new token into the pieces its rows come from.
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
    kind: str = "pretrain"  # pretrain (packed text blocks) | sft (chat-rendered conversations)
    # Shorthand for one text source: plain text (documents separated by blank lines) or JSONL
    # files; "bundled" means the sample corpus shipped inside the package. Ignored when
    # ``sources`` is set.
    files: list[str] = field(default_factory=lambda: ["bundled"])
    text_field: str = "text"
    sources: list[SourceConfig] = field(default_factory=list)
    # Training blocks (pretrain) or examples (sft) to draw from the mix; sources are re-read as
    # needed to keep their token shares. None: stop when the first source runs out.
    train_items: int | None = None
    on_bad_record: BadRecordPolicy = BadRecordPolicy.error
    max_doc_chars: int = 1_000_000  # a longer record is bad data (error or skip per policy)
    clean: CleanConfig = field(default_factory=CleanConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
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
    # Length of the warmup+decay schedule in optimizer steps; None = the run's own length.
    # Set it to stop a run early (or extend one) without changing its learning-rate curve.
    schedule_steps: int | None = None
    on_nonfinite_loss: NonFinitePolicy = NonFinitePolicy.stop


@dataclass
class CheckpointConfig:
    enabled: bool = True
    every_n_train_steps: int = 50
    keep: int = 0  # how many step checkpoints to keep besides last.ckpt
    best: str | None = None  # a logged metric: also keep its lowest-value checkpoint (best.ckpt)


@dataclass
class HeldoutBpcConfig:
    """Bits per character on the same held-out characters whatever the tokenizer (see
    bailong/training/heldout_bpc.py): compares runs with extended and original vocabularies."""

    enabled: bool = False
    every_n_train_steps: int = 10
    max_chars_per_source: int = 4000  # of each source's validation documents
    block_size: int | None = None  # scoring windows; None = data.block_size


@dataclass
class CallbacksConfig:
    progress_bar: str = "tqdm"  # tqdm | rich | none
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    heldout_bpc: HeldoutBpcConfig = field(default_factory=HeldoutBpcConfig)


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
class ExtendCorpusConfig:
    # Folder shaped like shared/data/corpora/zh_tw (drcd_dev.json, tang_poems/, cc0_sentences/);
    # None: the shared one when present.
    zh_tw_dir: str | None = None
    # Extra plain-text training files, one document a line (e.g. your own crawl).
    files: list[str] = field(default_factory=list)
    # OpenCC conversion of the training text, e.g. "s2twp" (Simplified → Taiwan Traditional).
    opencc: str | None = None
    heldout_fraction: float = 0.05
    # English text for the "segmentation unchanged" check; None: shared corpora/en/*.txt.
    en_files: list[str] | None = None
    en_sample_lines: int = 2000
    seed: int = 0


@dataclass
class SentencePieceTrainConfig:
    vocab_size: int = 30000
    character_coverage: float = 0.9995
    max_sentencepiece_length: int = 16
    user_defined_symbols: list[str] = field(default_factory=list)
    input_sentence_size: int = 0  # 0: all sentences
    max_sentence_length: int = 8192
    num_threads: int = 2


@dataclass
class MergeConfig:
    cjk_only: bool = True
    min_score: float | None = None
    max_added: int | None = None
    score_policy: ScorePolicy = ScorePolicy.below_base
    mode: MergeMode = MergeMode.reachable


@dataclass
class ExtendTokenizerConfig:
    task_name: str = "extend_tokenizer"
    # The SentencePiece model to extend; None: shared tokenizers/llama2/tokenizer.model.
    base_model: str | None = None
    output_dir: str = "extended_tokenizer"
    # An existing SentencePiece model (BPE or Unigram) to append instead of training one.
    addition_model: str | None = None
    paths: dict[str, Any] = field(default_factory=dict)
    corpus: ExtendCorpusConfig = field(default_factory=ExtendCorpusConfig)
    spm: SentencePieceTrainConfig = field(default_factory=SentencePieceTrainConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)


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
    # Extra rows, one per named variant: overrides of `embedding_init` that name their method,
    # e.g. {zip_tie_in_last: {method: zip_tie, input_weights: last}} (scored after `methods`).
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)


def _fail(key: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def _check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(key, value, f"allowed values are {list(choices)}")


# The initializers registered in bailong.embeddings.registry, by name: the registry imports
# torch (seconds), which validating a config must not (tests/test_startup.py keeps the two equal).
INIT_METHOD_NAMES = (
    "zip_tie", "subword_mean", "mean", "mean_cov", "random", "zeros", "piece_logprob",
)


def embedding_init_methods() -> tuple[str, ...]:
    """``none`` plus every registered initializer."""
    return ("none", *INIT_METHOD_NAMES)


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
            f"{key}.method={cfg.method!r} needs the tokenizer the base was trained with "
            "(e.g. shared/data/tokenizers/llama2/tokenizer.model, or the base model's directory)",
        )
    path = Path(cfg.original_tokenizer).expanduser()
    if not (path.is_file() or any((path / f).is_file() for f in ORIGINAL_TOKENIZER_FILES)):
        _fail(
            f"{key}.original_tokenizer",
            cfg.original_tokenizer,
            "no tokenizer file there (a SentencePiece .model, a tokenizer.json, or a directory "
            "holding tokenizer.model or tokenizer.json)",
        )


def _check_values(cfg: TrainConfig) -> None:
    """Checks that types cannot express; each names the key, the bad value and what is allowed."""
    if not cfg.lora.enabled and cfg.quantization.enabled:
        _fail(
            "lora.enabled",
            False,
            "training every weight needs an unquantized model (4-bit weights cannot train); "
            "use quantization=none with lora=none",
        )
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
    _check_choice("quantization.quant_storage", cfg.quantization.quant_storage, ("uint8", *DTYPES))
    q = cfg.quantization
    if cfg.trainer.get("strategy") == "fsdp" and q.enabled and q.quant_storage != q.compute_dtype:
        _fail(
            "quantization.quant_storage",
            q.quant_storage,
            f"FSDP shards floating-point tensors only; set it to {q.compute_dtype!r} "
            "(the compute dtype)",
        )
    if cfg.model.name_or_path is None and not cfg.model.config:
        _fail("model.config", {}, "give model.name_or_path or a model config under model.config")
    check_model_type(cfg.model)
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
    _check_data(cfg.data)
    if cfg.tokenizer.name_or_path is None and cfg.tokenizer.sample_vocab_size < 300:
        _fail(
            "tokenizer.sample_vocab_size",
            cfg.tokenizer.sample_vocab_size,
            "a byte-fallback tokenizer needs at least 300 pieces (259 are bytes and specials)",
        )
    _check_choice("tokenizer.sample_kind", cfg.tokenizer.sample_kind, SAMPLE_TOKENIZER_KINDS)
    check_embedding_init(cfg.embedding_init)
    _check_choice("optim.name", cfg.optim.name, ("adamw", "paged_adamw", "paged_adamw_8bit"))
    if cfg.optim.lr <= 0:
        _fail("optim.lr", cfg.optim.lr, "the learning rate must be positive")
    if cfg.optim.warmup_steps < 0:
        _fail("optim.warmup_steps", cfg.optim.warmup_steps, "must be >= 0")
    if cfg.optim.schedule_steps is not None and cfg.optim.schedule_steps <= 0:
        _fail("optim.schedule_steps", cfg.optim.schedule_steps, "must be positive or null")
    if not 0.0 <= cfg.optim.min_lr_ratio <= 1.0:
        _fail("optim.min_lr_ratio", cfg.optim.min_lr_ratio, "must lie in [0, 1]")
    if cfg.ckpt_path not in (None, "last") and not Path(cfg.ckpt_path).expanduser().is_file():
        _fail("ckpt_path", cfg.ckpt_path, "no checkpoint file there (or use 'last')")
    _check_choice("callbacks.progress_bar", cfg.callbacks.progress_bar, ("tqdm", "rich", "none"))
    if cfg.callbacks.checkpoint.keep < 0:
        _fail("callbacks.checkpoint.keep", cfg.callbacks.checkpoint.keep, "must be >= 0")
    if cfg.callbacks.checkpoint.every_n_train_steps <= 0:
        _fail(
            "callbacks.checkpoint.every_n_train_steps",
            cfg.callbacks.checkpoint.every_n_train_steps,
            "must be a positive integer",
        )
    bpc = cfg.callbacks.heldout_bpc
    for key in ("every_n_train_steps", "max_chars_per_source"):
        if getattr(bpc, key) <= 0:
            _fail(f"callbacks.heldout_bpc.{key}", getattr(bpc, key), "must be a positive integer")
    if bpc.block_size is not None and bpc.block_size < 2:
        _fail("callbacks.heldout_bpc.block_size", bpc.block_size, "must be at least 2 or null")
    if cfg.model.trust_remote_code and cfg.model.name_or_path is None:
        _fail("model.trust_remote_code", True, "only meaningful with model.name_or_path")
    _check_logger_paths(cfg.logger)


def _check_logger_paths(logger: dict[str, Any]) -> None:
    """Logger folders are written inside the run's output dir; a path may not point out of it."""
    from bailong.training.safe_paths import stays_inside

    csv_cfg = logger.get("csv")
    if isinstance(csv_cfg, dict) and not stays_inside(str(csv_cfg.get("name", "csv"))):
        _fail(
            "logger.csv.name",
            csv_cfg.get("name"),
            "must be a relative path inside the run's output dir (not absolute, no '..')",
        )


def _check_source(key: str, src: SourceConfig) -> None:
    if (src.path is None) == (src.hf_name is None):
        _fail(key, {"path": src.path, "hf_name": src.hf_name}, "set exactly one of path / hf_name")
    bundled = src.path is not None and (src.path == "bundled" or src.path.startswith("bundled/"))
    if src.path is not None and not bundled and not any_path_exists(src.path):
        _fail(f"{key}.path", src.path, "no such file, directory or glob match")
    _check_choice(f"{key}.format", src.format, SOURCE_FORMATS)
    _check_choice(f"{key}.schema", src.schema, SOURCE_SCHEMAS)
    _check_choice(f"{key}.direction", src.direction, TRANSLATION_DIRECTIONS)
    if src.opencc is not None:
        _check_choice(f"{key}.opencc", src.opencc, OPENCC_CONFIGS)
    if not src.weight > 0:
        _fail(f"{key}.weight", src.weight, "a token share must be positive")
    if src.max_records is not None and src.max_records <= 0:
        _fail(f"{key}.max_records", src.max_records, "must be a positive integer or null")


def any_path_exists(path: str) -> bool:
    """True when ``path`` is an existing file/directory or a glob with at least one match."""
    return bool(glob.glob(os.path.expanduser(path)))


def _check_data(data: DataConfig) -> None:
    _check_choice("data.kind", data.kind, DATA_KINDS)
    _check_choice("data.chat.template", data.chat.template, CHAT_TEMPLATES)
    if not data.sources:
        if not data.files:
            _fail("data.files", [], "list at least one file (or 'bundled'), or set data.sources")
        for i, path in enumerate(data.files):
            if path != "bundled" and not Path(path).expanduser().exists():
                _fail(f"data.files[{i}]", path, "no such file or directory")
    for i, src in enumerate(data.sources):
        _check_source(f"data.sources[{i}]", src)
    chat_schemas = sorted(set(SOURCE_SCHEMAS) - {"text"})
    for i, src in enumerate(data.sources):
        if (src.schema in chat_schemas) != (data.kind == "sft"):
            wanted = f"one of {chat_schemas}" if data.kind == "sft" else "'text'"
            _fail(f"data.sources[{i}].schema", src.schema, f"data.kind={data.kind} takes {wanted}")
    if data.kind == "sft" and not data.sources:
        _fail("data.sources", [], "data.kind=sft needs conversation sources")
    if data.train_items is not None and data.train_items <= 0:
        _fail("data.train_items", data.train_items, "must be a positive integer or null")
    if data.max_doc_chars <= 0:
        _fail("data.max_doc_chars", data.max_doc_chars, "must be a positive integer")
    c = data.clean
    if c.opencc is not None:
        _check_choice("data.clean.opencc", c.opencc, OPENCC_CONFIGS)
    if c.min_chars < 0:
        _fail("data.clean.min_chars", c.min_chars, "must be >= 0")
    if c.max_chars is not None and c.max_chars < max(c.min_chars, 1):
        _fail("data.clean.max_chars", c.max_chars, "must be >= data.clean.min_chars and >= 1")
    for key in ("min_cjk_share", "max_cjk_share"):
        value = getattr(c, key)
        if value is not None and not 0.0 <= value <= 1.0:
            _fail(f"data.clean.{key}", value, "a share must lie in [0, 1]")


def check_model_type(model: ModelConfig) -> None:
    """The model's family (``model.config.model_type``, or ``model_type`` in a local model
    directory's config.json) must be a causal LM transformers knows, unless the user allows the
    checkpoint's own code (``model.trust_remote_code``). Hub names are checked when they load."""
    from bailong.model.architecture import DEFAULT_MODEL_TYPE, causal_lm_types

    if model.name_or_path is None:
        key, model_type = "model.config.model_type", model.config.get("model_type")
        model_type = model_type or DEFAULT_MODEL_TYPE
    else:
        config_file = Path(model.name_or_path).expanduser() / "config.json"
        if not config_file.is_file() or model.trust_remote_code:
            return
        key = f"{config_file}: model_type"
        model_type = json.loads(config_file.read_text("utf-8")).get("model_type")
        if model_type is None:
            return  # not a transformers config.json; from_pretrained names what it lacks
    if model_type not in causal_lm_types():
        _fail(
            key,
            model_type,
            "not a causal LM family this transformers version knows; upgrade transformers, or "
            "set model.trust_remote_code=true to run the checkpoint's own code",
        )


def check_cpu_4bit_shapes(model: ModelConfig) -> None:
    """4-bit on CPU: every linear dimension a multiple of 64 (bailong/model/cpu_4bit.py says
    why), read from ``model.config`` or a local model directory's config.json."""
    from bailong.model.cpu_4bit import CPU_4BIT_MULTIPLE, cpu_4bit_shape_errors

    if model.name_or_path is None:
        prefix, config = "model.config.", model.config
    else:
        config_file = Path(model.name_or_path).expanduser() / "config.json"
        if not config_file.is_file():
            return  # a hub name: its shapes are known only once it loads
        prefix, config = f"{config_file}: ", json.loads(config_file.read_text("utf-8"))
    for key, value, width in cpu_4bit_shape_errors(config):
        shape = "" if width == value else f" (a projection {width} wide)"
        _fail(
            f"{prefix}{key}",
            value,
            f"4-bit runs on CPU need every linear layer's width to be a multiple of "
            f"{CPU_4BIT_MULTIPLE}{shape}: on CPUs with AVX512-BF16, bitsandbytes repacks 4-bit "
            "weights for its CPU kernel in blocks and rejects other sizes; choose a multiple of "
            f"{CPU_4BIT_MULTIPLE}, or quantization=none",
        )


def reject_inline_secrets(raw: Any, prefix: str = "") -> None:
    """Credentials belong in environment variables, never in configs that get logged/saved.

    A key that looks like a credential (api_key, hf_token, password, ...) with a literal value
    (a string or a number) is rejected; name the environment variable instead, in a key ending
    in ``_env``.
    """
    from bailong.training.redact import holds_secret

    if isinstance(raw, dict):
        for key, value in raw.items():
            name = f"{prefix}{key}"
            if holds_secret(key, value):
                raise ConfigError(
                    f"{name}=<hidden> looks like a secret written into the config; configs are "
                    f"logged and saved, so set it in an environment variable and give its name "
                    f"in {name}_env instead"
                )
            reject_inline_secrets(value, f"{name}.")
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            reject_inline_secrets(value, f"{prefix[:-1]}[{i}].")


def _merge_schema(schema: type, cfg: DictConfig) -> Any:
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    raw.pop("hydra", None)
    reject_inline_secrets(raw)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
    except OmegaConfBaseException as err:
        raise ConfigError(str(err).strip()) from None
    obj = OmegaConf.to_object(merged)
    assert isinstance(obj, schema)
    return obj


def to_schema(cfg: DictConfig) -> TrainConfig:
    """Merge a composed config onto the schema; type and unknown-key errors become ConfigError."""
    return _merge_schema(TrainConfig, cfg)


def validate_train_config(cfg: DictConfig) -> TrainConfig:
    """The one door: a typed, checked TrainConfig, or one ConfigError naming every problem of
    the values (first one), their ranges, and the machine and model sources (bailong.preflight)."""
    from bailong.preflight import collect, raise_all, train_preflight
    from bailong.train_checks import check_train_ranges

    settings = to_schema(cfg)
    raise_all(
        collect(
            [
                lambda: _check_values(settings),
                lambda: check_train_ranges(settings),
                lambda: train_preflight(settings),
            ]
        )
    )
    return settings


def _shared_default(key: str, value: str | None, relative: str) -> str:
    """``value``, or the shared data path it defaults to; fails naming both when neither exists."""
    if value is not None:
        if not Path(value).expanduser().exists():
            _fail(key, value, "no such file or directory")
        return str(Path(value).expanduser())
    found = shared_path(relative)
    if found is None:
        _fail(key, None, f"set it, or {ENV_VAR} to a shared data folder holding {relative}")
    return str(found)


def _check_byte_level_settings(settings: ExtendTokenizerConfig) -> None:
    """A byte-level base (a tokenizer.json) trains its own BPE addition and appends merges: the
    SentencePiece-only settings would be silently ignored, so they are refused."""
    from bailong.tokenizer.files import is_sentencepiece

    if is_sentencepiece(settings.base_model):
        return
    m, why = settings.merge, "applies to SentencePiece bases only; this base is a tokenizer.json"
    if settings.addition_model is not None:
        _fail("addition_model", settings.addition_model, why)
    if m.mode is not MergeMode.reachable:
        _fail("merge.mode", m.mode.value, why)
    if m.score_policy is not ScorePolicy.below_base:
        _fail("merge.score_policy", m.score_policy.value, why)
    if m.min_score is not None:
        _fail("merge.min_score", m.min_score, why)


def validate_extend_tokenizer_config(cfg: DictConfig) -> ExtendTokenizerConfig:
    """The extend-tokenizer config, typed, checked, with shared-data defaults resolved."""
    settings = _merge_schema(ExtendTokenizerConfig, cfg)
    settings.base_model = _shared_default(
        "base_model", settings.base_model, "tokenizers/llama2/tokenizer.model"
    )
    _check_byte_level_settings(settings)
    if settings.addition_model is not None:
        if not Path(settings.addition_model).expanduser().is_file():
            _fail("addition_model", settings.addition_model, "no such SentencePiece model file")
        settings.addition_model = str(Path(settings.addition_model).expanduser())
    corpus = settings.corpus
    for i, path in enumerate(corpus.files):
        if not Path(path).expanduser().is_file():
            _fail(f"corpus.files[{i}]", path, "no such file")
    if corpus.zh_tw_dir is not None or not corpus.files:
        corpus.zh_tw_dir = _shared_default("corpus.zh_tw_dir", corpus.zh_tw_dir, "corpora/zh_tw")
    if corpus.en_files is None:
        en_dir = shared_path("corpora/en")
        corpus.en_files = sorted(str(p) for p in en_dir.glob("*.txt")) if en_dir else []
    for i, path in enumerate(corpus.en_files):
        if not Path(path).expanduser().is_file():
            _fail(f"corpus.en_files[{i}]", path, "no such file")
    if corpus.opencc is not None:
        _check_choice("corpus.opencc", corpus.opencc, OPENCC_CONFIGS)
    if not 0.0 <= corpus.heldout_fraction < 1.0:
        _fail("corpus.heldout_fraction", corpus.heldout_fraction, "must lie in [0, 1)")
    if corpus.en_sample_lines < 0:
        _fail("corpus.en_sample_lines", corpus.en_sample_lines, "must be >= 0")
    if settings.spm.vocab_size < 300:
        _fail("spm.vocab_size", settings.spm.vocab_size, "needs >= 300 pieces (259 are bytes etc.)")
    if not 0.0 < settings.spm.character_coverage <= 1.0:
        _fail("spm.character_coverage", settings.spm.character_coverage, "must lie in (0, 1]")
    if settings.merge.max_added is not None and settings.merge.max_added < 0:
        _fail("merge.max_added", settings.merge.max_added, "must be >= 0 (or null for no cap)")
    return settings


# --------------------------------------------------------------------------------------------
# bailong-eval: one benchmark per job (`eval=<option>`; a multirun runs several).

EVAL_KINDS = ("perplexity", "multiple_choice", "generation")
MC_FORMATS = ("tmmlu", "auto", "json", "jsonl", "csv")  # auto: by the file's suffix
LONG_PROMPT_POLICIES = ("truncate", "skip")


def _shared_resolver(relative: str) -> str:
    """``${shared:eval/tmmlu/subjects}`` → that path in the shared data folder. When the folder
    is absent the path points nowhere, and validation names it with how to fix it."""
    from bailong.shared_data import shared_data_dir

    root = shared_data_dir()
    return str((root if root is not None else Path("<shared data not found>")) / relative)


OmegaConf.register_new_resolver("shared", _shared_resolver, replace=True)


@dataclass
class PerplexityEvalConfig:
    # language label → held-out files (.txt: blank-line documents; .jsonl: text_field)
    files: dict[str, list[str]] = field(default_factory=dict)
    text_field: str = "text"
    block_size: int = 512
    batch_size: int = 4
    max_chars: int | None = 100_000  # per file, so a run's time stays bounded


@dataclass
class MultipleChoiceEvalConfig:
    # tmmlu: a subjects folder of data.csv; auto | json | jsonl | csv: one file of records
    # (JSON object keyed by id, JSON list, JSON Lines, CSV; bailong.eval.mc_formats)
    format: str = "tmmlu"
    path: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)  # null = the usual field names
    subjects: list[str] = field(default_factory=list)  # empty = all
    max_per_subject: int | None = None
    k_shot: int = 0
    question_prefix: str = "問題："
    answer_cue: str = "答案："
    batch_size: int = 8
    max_length: int | None = None  # null: the model's context (max_position_embeddings)
    long_prompts: str = "truncate"  # prompts over max_length: truncate (from the left) | skip


@dataclass
class JudgeSettings:
    enabled: bool = False
    base_url: str = "https://api.openai.com/v1"  # any OpenAI-compatible endpoint (vLLM, ...)
    model: str = "gpt-4"
    api_key_env: str | None = "OPENAI_API_KEY"  # the variable holding the key; null = none
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 2.0
    temperature: float = 0.0
    max_tokens: int = 2048
    prompts: str | None = None  # judge prompts JSONL (FastChat layout)
    reference_answers: str | None = None
    reference_categories: list[str] = field(default_factory=lambda: ["math", "reasoning", "coding"])


@dataclass
class GenerationBenchConfig:
    questions: str | None = None  # question.jsonl (FastChat layout)
    categories: list[str] = field(default_factory=list)  # empty = all
    limit: int | None = None
    model_id: str = "bailong"
    # Resumable outputs; null = <output_dir>/answers/<model_id>.jsonl and .../judgments/...
    answers_file: str | None = None
    judgments_file: str | None = None
    system_prompt: str | None = None
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    judge: JudgeSettings = field(default_factory=JudgeSettings)


@dataclass
class EvalTaskConfig:
    kind: str = "perplexity"
    perplexity: PerplexityEvalConfig | None = None
    multiple_choice: MultipleChoiceEvalConfig | None = None
    generation: GenerationBenchConfig | None = None


@dataclass
class EvalConfig:
    task_name: str = "eval"
    tags: list[str] = field(default_factory=list)
    # A train run dir, its adapter/ dir, or a plain Hugging Face model dir (export or base).
    model_path: str | None = None
    quantize: bool | None = None  # null: as the run was trained; false: full-precision base
    dtype: str | None = None  # null: the run's model dtype
    chat_template: str | None = None  # null: what the run trained with (llama2 | tokenizer)
    paths: dict[str, Any] = field(default_factory=dict)
    eval: EvalTaskConfig = field(default_factory=EvalTaskConfig)


def _check_exists(key: str, path: str | None) -> None:
    if path is None:
        _fail(key, None, "a path is required")
    if not Path(path).expanduser().exists():
        hint = " (set BAILONG_SHARED_DATA to the shared/data folder)" if "<shared" in path else ""
        _fail(key, path, f"no such file or directory{hint}")


def _check_eval_values(cfg: EvalConfig) -> None:
    task = cfg.eval
    _check_choice("eval.kind", task.kind, EVAL_KINDS)
    section = getattr(task, task.kind)
    if section is None:
        _fail(f"eval.{task.kind}", None, f"eval.kind={task.kind} needs its settings section")
    answers_given = task.kind == "generation" and section.answers_file is not None
    if cfg.model_path is None and not answers_given:
        _fail("model_path", None, "set model_path=<train run dir, adapter dir or HF model dir>")
    if cfg.model_path is not None:
        _check_exists("model_path", cfg.model_path)
    if cfg.dtype is not None:
        _check_choice("dtype", cfg.dtype, DTYPES)
    if cfg.chat_template is not None:
        _check_choice("chat_template", cfg.chat_template, ("llama2", "tokenizer"))
    if task.kind == "perplexity":
        if not section.files:
            _fail("eval.perplexity.files", {}, "map at least one language to held-out files")
        for lang, paths in section.files.items():
            for i, path in enumerate(paths):
                _check_exists(f"eval.perplexity.files.{lang}[{i}]", path)
        if section.block_size < 2:
            _fail("eval.perplexity.block_size", section.block_size, "must be at least 2")
    elif task.kind == "multiple_choice":
        _check_choice("eval.multiple_choice.format", section.format, MC_FORMATS)
        _check_choice(
            "eval.multiple_choice.long_prompts", section.long_prompts, LONG_PROMPT_POLICIES
        )
        if section.max_length is not None and section.max_length < 2:
            _fail("eval.multiple_choice.max_length", section.max_length, "must be at least 2")
        _check_exists("eval.multiple_choice.path", section.path)
        if section.k_shot < 0:
            _fail("eval.multiple_choice.k_shot", section.k_shot, "must be >= 0")
    else:
        _check_exists("eval.generation.questions", section.questions)
        _check_output_files(section)
        if section.judge.enabled:
            _check_exists("eval.generation.judge.prompts", section.judge.prompts)
            if section.judge.reference_answers is not None:
                _check_exists(
                    "eval.generation.judge.reference_answers", section.judge.reference_answers
                )
    for key in ("batch_size", "max_new_tokens"):
        if hasattr(section, key) and getattr(section, key) <= 0:
            _fail(f"eval.{task.kind}.{key}", getattr(section, key), "must be a positive integer")


def _check_output_files(section: GenerationBenchConfig) -> None:
    """answers_file/judgments_file: absolute paths are deliberate (resume an earlier run's
    files); a relative one may not climb out of the current directory with '..'."""
    from bailong.training.safe_paths import stays_inside

    for key in ("answers_file", "judgments_file"):
        value = getattr(section, key)
        if value is not None and not Path(value).is_absolute() and not stays_inside(value):
            _fail(f"eval.generation.{key}", value, "may not contain '..'; use an absolute path")


def validate_eval_config(cfg: DictConfig) -> EvalConfig:
    """The eval app's door: a typed, checked EvalConfig, or a ConfigError naming the problem."""
    settings = _merge_schema(EvalConfig, cfg)
    _check_eval_values(settings)
    return settings


def validate_probe_config(cfg: DictConfig) -> ProbeConfig:
    """The probe's door: schema merge plus the checks that name key, value and what is allowed."""
    settings = _merge_schema(ProbeConfig, cfg)
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
    # With the model and both tokenizers given nothing is trained: whole files may be held out.
    nothing_trained = all(
        (settings.model.name_or_path, settings.original_tokenizer, settings.extended_tokenizer)
    )
    fraction = settings.heldout_fraction
    if not (0.0 < fraction < 1.0 or (fraction == 1.0 and nothing_trained)):
        _fail(
            "heldout_fraction",
            settings.heldout_fraction,
            "must lie in (0, 1), or be 1 (whole files) when model.name_or_path, "
            "original_tokenizer and extended_tokenizer are all given",
        )
    probe_arms(settings)  # each variant is checked here, before any model is loaded
    if settings.block_size < 2:
        _fail("block_size", settings.block_size, "must be at least 2")
    if settings.base_train_steps < 0:
        _fail("base_train_steps", settings.base_train_steps, "must be >= 0")
    _check_choice("model.dtype", settings.model.dtype, DTYPES)
    _check_choice("quantization.compute_dtype", settings.quantization.compute_dtype, DTYPES)
    from bailong.preflight import collect, cuda_available, raise_all, source_problems

    problems = source_problems("model.name_or_path", settings.model.name_or_path, "config.json")
    if settings.quantization.enabled and not cuda_available():
        problems += collect([lambda: check_cpu_4bit_shapes(settings.model)])
    raise_all(problems)
    return settings


def probe_arms(settings: ProbeConfig) -> list[tuple[str, EmbeddingInitConfig]]:
    """The probe's rows after the reference: ``(name, embedding_init)`` for every method, then
    every variant (``embedding_init`` with the variant's overrides), each checked."""
    arms = [(m, replace(settings.embedding_init, method=m)) for m in settings.methods]
    for name, overrides in settings.variants.items():
        key = f"variants.{name}"
        if name in settings.methods:
            _fail(key, overrides, "a variant's name must differ from every name in `methods`")
        if "method" not in overrides:
            _fail(f"{key}.method", None, "each variant names its method")
        try:
            merged = OmegaConf.merge(OmegaConf.structured(settings.embedding_init), overrides)
        except OmegaConfBaseException as err:
            raise ConfigError(f"{key}: {str(err).strip()}") from None
        variant = OmegaConf.to_object(merged)
        assert isinstance(variant, EmbeddingInitConfig)
        _check_choice(f"{key}.method", variant.method, embedding_init_methods()[1:])
        check_embedding_init(replace(variant, method="none"), key)
        arms.append((name, variant))
    return arms
