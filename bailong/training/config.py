"""Settings of the training stage (optimizer, schedule, checkpoints, callbacks) and the train
config, which composes every stage's settings into the one schema ``bailong-train`` reads.

Each stage owns its part (``bailong/<stage>/config.py``); this module adds what only a
training run has. ``bailong.training.validate.validate_train_config`` is the door that checks them
all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from bailong.core.checks import check_choice, fail
from bailong.core.safe_paths import stays_inside
from bailong.data.config import DataConfig
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.model.config import LoraConfig, ModelConfig, QuantizationConfig
from bailong.tokenizer.config import TokenizerConfig


class Schedule(str, Enum):
    constant = "constant"
    linear = "linear"
    cosine = "cosine"


class NonFinitePolicy(str, Enum):
    """What a NaN/inf training loss does: stop the run with an error, or skip the batch, counted."""

    stop = "stop"
    skip = "skip"


OPTIMIZERS = ("adamw", "paged_adamw", "paged_adamw_8bit")
PROGRESS_BARS = ("auto", "tqdm", "rich", "lines", "none")


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
    keep: int = 0  # step-*.ckpt kept besides last.ckpt, >= 0 (each as large: no "keep all")
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
    progress_bar: str = "auto"  # auto (tqdm on a terminal, else lines) | tqdm | rich | lines | none
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


def check_optim(optim: OptimConfig) -> None:
    """The optimizer's name and schedule; the numbers AdamW takes (``lr``, ``eps``,
    ``weight_decay``, ``betas``) are range-checked once, in ``train_checks.check_optimizer``."""
    check_choice("optim.name", optim.name, OPTIMIZERS)
    if optim.warmup_steps < 0:
        fail("optim.warmup_steps", optim.warmup_steps, "must be >= 0")
    if optim.schedule_steps is not None and optim.schedule_steps <= 0:
        fail("optim.schedule_steps", optim.schedule_steps, "must be positive or null")
    if not 0.0 <= optim.min_lr_ratio <= 1.0:
        fail("optim.min_lr_ratio", optim.min_lr_ratio, "must lie in [0, 1]")


def check_callbacks(callbacks: CallbacksConfig) -> None:
    check_choice("callbacks.progress_bar", callbacks.progress_bar, PROGRESS_BARS)
    checkpoint = callbacks.checkpoint
    if checkpoint.keep < 0:
        fail("callbacks.checkpoint.keep", checkpoint.keep, "must be >= 0")
    if checkpoint.every_n_train_steps <= 0:
        fail(
            "callbacks.checkpoint.every_n_train_steps",
            checkpoint.every_n_train_steps,
            "must be a positive integer",
        )
    bpc = callbacks.heldout_bpc
    for key in ("every_n_train_steps", "max_chars_per_source"):
        if getattr(bpc, key) <= 0:
            fail(f"callbacks.heldout_bpc.{key}", getattr(bpc, key), "must be a positive integer")
    if bpc.block_size is not None and bpc.block_size < 2:
        fail("callbacks.heldout_bpc.block_size", bpc.block_size, "must be at least 2 or null")


def check_logger_paths(logger: dict[str, Any]) -> None:
    """Logger folders are written inside the run's output dir; a path may not point out of it."""
    csv_cfg = logger.get("csv")
    if isinstance(csv_cfg, dict) and not stays_inside(str(csv_cfg.get("name", "csv"))):
        fail(
            "logger.csv.name",
            csv_cfg.get("name"),
            "must be a relative path inside the run's output dir (not absolute, no '..')",
        )
