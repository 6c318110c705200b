"""The train task: validated config → tokenizer → model → data → Lightning fit → adapter.

Each stage is one call; the function returns the final metrics (a float for Optuna is picked
by the CLI). Nothing here reads Hydra state, so tests and notebooks call it directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities.exceptions import SIGTERMException
from peft import PeftModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bailong.core.atomic_dir import atomic_directory, remove_partial_directories
from bailong.core.checks import ConfigError
from bailong.core.paths import run_cache_dir
from bailong.core.run_context import RunContext
from bailong.core.run_files import ADAPTER_DIR
from bailong.data.build import build_datamodule
from bailong.data.chat_template import carry_chat_format
from bailong.data.documents import resolve_files
from bailong.embeddings.extend import base_vocab_size, extend_embeddings
from bailong.embeddings.resize import input_embedding_layer
from bailong.model.embedding_layers import save_embedding_layers
from bailong.model.load import load_base_model
from bailong.model.lora import train_all_weights, wrap_with_lora
from bailong.tokenizer.byte_level import sample_byte_level_dir
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.standin import describe_original, sample_extension_file
from bailong.training.callbacks import build_callbacks, checkpoint_dir
from bailong.training.checkpoint_io import AtomicCheckpointIO, remove_partial_writes
from bailong.training.config import TrainConfig
from bailong.training.global_batch import log_global_batch
from bailong.training.loggers import build_loggers
from bailong.training.module import CausalLMModule
from bailong.training.run_log import log_checkpoint_plan, log_sample_extension, log_vocabulary
from bailong.training.run_record import write_run_record
from bailong.training.sigterm import CheckpointOnSigterm, Terminated, sigterm_deferred

FULL_MODEL_DIR = "model"  # where a run with lora.enabled=false saves the trained model


def cache_dir(cfg: TrainConfig) -> Path:
    """Where this run builds and reuses sample tokenizers and random bases."""
    return run_cache_dir(cfg.paths)


def build_tokenizer(cfg: TrainConfig) -> PreTrainedTokenizerBase:
    name = cfg.tokenizer.name_or_path
    files, cache = resolve_files(cfg.data.files), cache_dir(cfg)
    if name is None and cfg.tokenizer.sample_kind == "byte_level":
        name = str(sample_byte_level_dir(files, cfg.tokenizer.sample_vocab_size, cache))
    elif name is None and cfg.tokenizer.sample_kind == "extended":
        assert cfg.tokenizer.original is not None, "validated by check_tokenizer"
        original = Path(cfg.tokenizer.original)
        name = str(sample_extension_file(original, files, cfg.tokenizer.sample_added, cache))
        log_sample_extension(describe_original(original, cache), name)
    return load_tokenizer(
        name,
        text_files=files,
        sample_vocab_size=cfg.tokenizer.sample_vocab_size,
        cache_dir=cache,
        trust_remote_code=cfg.model.trust_remote_code,
        text_field=cfg.data.text_field,
    )


def build_model(
    cfg: TrainConfig, tokenizer: PreTrainedTokenizerBase
) -> PeftModel | PreTrainedModel:
    """Base model (4-bit per config) with LoRA, or every weight trainable when
    ``lora.enabled`` is false; the vocabulary must cover the tokenizer."""
    vocab_size = base_vocab_size(cfg.embedding_init, tokenizer)
    base = load_base_model(cfg.model, cfg.quantization, vocab_size, cache_dir(cfg))
    report = None
    if cfg.embedding_init.method != "none":  # vocabulary extension (bailong.embeddings)
        report = extend_embeddings(base, tokenizer, cfg.embedding_init)
    rows = input_embedding_layer(base).num_embeddings
    log_vocabulary(report, rows)
    if rows < len(tokenizer):
        raise ConfigError(
            f"tokenizer has {len(tokenizer)} tokens but the model's embedding has {rows} rows; "
            "use a tokenizer that matches the model or extend the vocabulary"
        )
    if not cfg.lora.enabled:
        return train_all_weights(base, cfg.model.gradient_checkpointing)
    old_rows = base_vocab_size(cfg.embedding_init, tokenizer) if report else None
    return wrap_with_lora(base, cfg.lora, cfg.model.gradient_checkpointing, old_rows)


def resolve_ckpt_path(cfg: TrainConfig, output_dir: Path) -> str | None:
    if cfg.ckpt_path == "last":
        last = checkpoint_dir(output_dir) / "last.ckpt"
        return str(last) if last.exists() else None  # a directory there fails, not restarts
    return cfg.ckpt_path


def build_trainer(
    cfg: TrainConfig,
    ctx: RunContext,
    resuming: bool = False,
    extra_callbacks: Sequence[L.Callback] = (),
) -> L.Trainer:
    loggers = build_loggers(
        cfg.logger,
        ctx.output_dir,
        ctx.run_name,
        ctx.group,
        cfg.stage,
        dataclasses.asdict(cfg),
        resuming=resuming,
    )
    return L.Trainer(
        **cfg.trainer,
        logger=loggers or False,
        callbacks=[*build_callbacks(cfg.callbacks, ctx.output_dir), *extra_callbacks],
        enable_checkpointing=cfg.callbacks.checkpoint.enabled,
        enable_progress_bar=cfg.callbacks.progress_bar != "none",
        plugins=[AtomicCheckpointIO()],
        default_root_dir=str(ctx.output_dir),
    )


def train(
    cfg: TrainConfig,
    ctx: RunContext,
    *,
    build_module: Callable[..., CausalLMModule] = CausalLMModule,
    extra_callbacks: Sequence[L.Callback] = (),
) -> dict[str, float]:
    """Run one training job; returns the final logged metrics.

    ``build_module`` (called as ``CausalLMModule(model, cfg.optim)``) and ``extra_callbacks``
    are the seams for code that runs the real job with a module subclass or a callback that
    watches it (the fault and train-mode tests), instead of patching this module's names."""
    L.seed_everything(cfg.seed, workers=True)
    tokenizer = build_tokenizer(cfg)
    model = build_model(cfg, tokenizer)
    log_checkpoint_plan(model, cfg.callbacks.checkpoint)
    datamodule = build_datamodule(cfg.data, tokenizer, cfg.seed)
    module = build_module(model, cfg.optim)
    ckpt_path = resolve_ckpt_path(cfg, ctx.output_dir)
    # a save killed midway (even the first one) leaves a temp file beside the checkpoints
    remove_partial_writes(checkpoint_dir(ctx.output_dir))
    for name in (ADAPTER_DIR, FULL_MODEL_DIR):
        remove_partial_directories(ctx.output_dir, name)
    trainer = build_trainer(cfg, ctx, ckpt_path is not None, extra_callbacks)
    log_global_batch(trainer, cfg.data)
    try:
        if cfg.validate_before_fit and ckpt_path is None:
            trainer.validate(module, datamodule=datamodule, verbose=False)  # the step-0 loss
        trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException:
        # set by Lightning's callback connector; the Trainer class does not declare it
        callbacks = trainer.callbacks  # type: ignore[attr-defined]
        saved = [c.saved for c in callbacks if isinstance(c, CheckpointOnSigterm)]
        raise Terminated(trainer.global_step, next(iter(saved), None)) from None
    if cfg.save_adapter:
        module.check_finite_weights("the trained model")
    if cfg.save_adapter and trainer.is_global_zero:
        with sigterm_deferred() as sigterm:
            saved_to = save_trained(cfg, model, tokenizer, ctx.output_dir)
        if sigterm:
            raise Terminated(
                trainer.global_step,
                None,
                f"stopped by SIGTERM after training to global step {trainer.global_step}; "
                f"{saved_to} was saved complete before stopping",
            )
    return metrics_as_floats(trainer.callback_metrics)


def save_trained(
    cfg: TrainConfig,
    model: PeftModel | PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    output_dir: Path,
) -> Path:
    """The trained adapter (or, with ``lora.enabled=false``, the whole model), written whole;
    the tokenizer carries the chat template its conversations were rendered with."""
    carry_chat_format(tokenizer, cfg.data.chat.template)
    if not cfg.lora.enabled:
        target = output_dir / FULL_MODEL_DIR
        with atomic_directory(target) as tmp:
            # a plain Hugging Face model that model.name_or_path (and tokenizer.name_or_path) load
            model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
        return target
    target = output_dir / ADAPTER_DIR
    with atomic_directory(target) as tmp:
        embeddings = save_embedding_layers(cfg.embedding_init, cfg.lora.embeddings)
        model.save_pretrained(str(tmp), save_embedding_layers=embeddings)
        tokenizer.save_pretrained(str(tmp))
        # what bailong-eval/-chat/-export need to rebuild the same base (bailong.apps.reload)
        # the size the base was built/loaded with: the ORIGINAL vocabulary when extended
        write_run_record(tmp, cfg, base_vocab_size(cfg.embedding_init, tokenizer))
    return target


def metrics_as_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}
