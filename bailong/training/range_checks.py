"""Range checks of a train config, run by ``validate_train_config`` before anything loads.

Each of these values used to pass validation and then fail late (an ``OverflowError`` at the
scheduler, a size mismatch while building the model, "No training batches" and an untrained
adapter) or not at all (a NaN learning rate, because ``nan <= 0`` is false). Every check names
the key, the value and what is allowed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bailong.core.checks import fail
from bailong.core.paths import looks_local, run_cache_dir
from bailong.data.documents import DATA_SUFFIXES, resolve_files
from bailong.training.config import TrainConfig

# Lightning's precision names (its _PRECISION_INPUT; importing Lightning to read them costs
# seconds at every config check, so tests/cli/test_startup.py keeps this copy equal to it)
PRECISIONS = (
    "64", "32", "16", "bf16", "transformer-engine", "transformer-engine-float16",
    "16-true", "16-mixed", "bf16-true", "bf16-mixed", "32-true", "64-true",
)  # fmt: skip
# what CausalLMModule's training_step and validation hooks always log (bailong/training/module.py):
# the names optimized_metric may pick (train/skipped_batches appears only once one was skipped)
ALWAYS_LOGGED = ("train/loss", "train/tokens_seen", "train/lr", "val/loss", "val/ppl")
MAX_SEED = 2**32 - 1  # numpy's seed range (Lightning seeds numpy too)
# the modules LoRA can target in a Llama built from model.config (peft matches name suffixes);
# other families (model.config.model_type) are left to peft
LLAMA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(key: str, value: Any) -> None:
    if not (_finite_number(value) and value > 0):
        fail(key, value, "must be a finite number > 0")


def check_trainer(trainer: dict[str, Any]) -> None:
    max_steps, max_epochs = trainer.get("max_steps", -1), trainer.get("max_epochs")
    if max_steps == -1:
        if not (isinstance(max_epochs, int) and max_epochs > 0):
            fail("trainer.max_steps", -1, "-1 (no step limit) needs trainer.max_epochs > 0")
    elif not (isinstance(max_steps, int) and max_steps > 0):
        fail("trainer.max_steps", max_steps, "must be a positive integer (or -1 with max_epochs)")
    accumulate = trainer.get("accumulate_grad_batches", 1)
    if not (isinstance(accumulate, int) and accumulate >= 1):
        fail("trainer.accumulate_grad_batches", accumulate, "must be an integer >= 1")
    clip = trainer.get("gradient_clip_val")
    if clip is not None and not (_finite_number(clip) and clip >= 0):
        fail("trainer.gradient_clip_val", clip, "must be a finite number >= 0, or null")
    precision = trainer.get("precision")
    if precision is not None and str(precision) not in PRECISIONS:
        fail("trainer.precision", precision, f"allowed values are {list(PRECISIONS)}")
    every = trainer.get("log_every_n_steps", 1)
    if not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        # 0 runs to the end and logs no train/loss row at all
        fail("trainer.log_every_n_steps", every, "must be an integer >= 1 (log_every_n_steps=1)")
    check_val_check_interval(trainer.get("val_check_interval"))


def check_val_check_interval(value: Any) -> None:
    """Lightning's two forms: an integer number of batches >= 1, or a fraction of an epoch in
    (0, 1]; 0 divides by zero once the model has loaded."""
    if value is None:
        return
    batches = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    fraction = isinstance(value, float) and _finite_number(value) and 0 < value <= 1
    if not (batches or fraction):
        fail(
            "trainer.val_check_interval",
            value,
            "give a number of training batches >= 1 (e.g. val_check_interval=1) or a fraction "
            "of an epoch in (0, 1] (e.g. 0.5)",
        )


def check_optimizer(cfg: TrainConfig) -> None:
    optim = cfg.optim
    _positive("optim.lr", optim.lr)
    _positive("optim.eps", optim.eps)
    if not (_finite_number(optim.weight_decay) and optim.weight_decay >= 0):
        fail("optim.weight_decay", optim.weight_decay, "must be a finite number >= 0")
    betas = list(optim.betas)
    if len(betas) != 2 or not all(_finite_number(b) and 0 <= b < 1 for b in betas):
        fail("optim.betas", betas, "must be two numbers in [0, 1), e.g. [0.9, 0.999]")


# sizes and epsilons of a model built from model.config (transformers checks none of them
# before building: a negative epsilon fails in a dataclass deep inside the model)
POSITIVE_SIZES = (
    "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "max_position_embeddings", "head_dim",
)  # fmt: skip
POSITIVE_EPSILONS = ("rms_norm_eps", "layer_norm_eps", "norm_eps")


def check_model_shape(cfg: TrainConfig) -> None:
    """A model built from model.config: its settings (below), LoRA modules a Llama has, LoRA
    rank no larger than the width."""
    config = cfg.model.config
    if cfg.model.name_or_path is not None or not config:
        return
    check_model_config(config)
    hidden = config.get("hidden_size")
    targets = [t for t in cfg.lora.target_modules if t != "all-linear"]
    unknown = [t for t in targets if t.rsplit(".", 1)[-1] not in (*LLAMA_MODULES, "lm_head")]
    if cfg.lora.enabled and unknown and config.get("model_type", "llama") == "llama":
        fail("lora.target_modules", unknown, f"a Llama has {list(LLAMA_MODULES)} (or all-linear)")
    if cfg.lora.enabled and hidden and cfg.lora.r > hidden:
        fail("lora.r", cfg.lora.r, f"the rank may not exceed the layer width hidden_size={hidden}")


def check_model_config(config: dict[str, Any]) -> None:
    """The settings of a model built from ``model.config`` (in a train config or a run
    record): positive sizes and epsilons, heads dividing the width."""
    for key in POSITIVE_SIZES:
        value = config.get(key)
        if value is not None and not (isinstance(value, int) and value > 0):
            fail(f"model.config.{key}", value, "must be a positive integer")
    for key in POSITIVE_EPSILONS:
        if key in config and not (_finite_number(config[key]) and config[key] > 0):
            fail(f"model.config.{key}", config[key], "must be a finite number > 0 (e.g. 1e-6)")
    hidden, heads = config.get("hidden_size"), config.get("num_attention_heads")
    if hidden and heads and hidden % heads:
        fail("model.config.num_attention_heads", heads, f"must divide hidden_size={hidden}")
    kv_heads = config.get("num_key_value_heads")
    if heads and kv_heads and (kv_heads <= 0 or heads % kv_heads):
        fail(
            "model.config.num_key_value_heads", kv_heads, f"must divide num_attention_heads={heads}"
        )


def check_paths(cfg: TrainConfig) -> None:
    """Local paths must exist, except inside paths.cache_dir, where an earlier step builds them
    (``bailong-extend-tokenizer``, a study's base run) after the experiments were validated;
    the loaders name those when they are still missing."""
    cache = run_cache_dir(cfg.paths)
    for key, name in (
        ("model.name_or_path", cfg.model.name_or_path),
        ("tokenizer.name_or_path", cfg.tokenizer.name_or_path),
    ):
        if name is None or not looks_local(name) or Path(name).expanduser().exists():
            continue
        if cache in Path(name).expanduser().parents:
            continue
        fail(key, name, "no such local file or directory (a hub id looks like org/name)")
    for i, name in enumerate(cfg.data.files if not cfg.data.sources else []):
        if Path(name).expanduser().is_dir() and not resolve_files([name]):
            fail(f"data.files[{i}]", name, f"the directory holds no {list(DATA_SUFFIXES)} files")
    for i, src in enumerate(cfg.data.sources):
        if not _finite_number(src.weight):
            fail(f"data.sources[{i}].weight", src.weight, "a token share must be finite")


def check_train_ranges(cfg: TrainConfig) -> None:
    """All of the above, plus seeds, workers and the metrics named (optimized_metric, best)."""
    check_trainer(cfg.trainer)
    check_optimizer(cfg)
    check_model_shape(cfg)
    check_paths(cfg)
    for key, seed in (("seed", cfg.seed), ("model.seed", cfg.model.seed)):
        if not 0 <= seed <= MAX_SEED:
            fail(key, seed, f"must lie in [0, {MAX_SEED}]")
    if cfg.data.num_workers < 0:
        fail("data.num_workers", cfg.data.num_workers, "must be >= 0")
    metric = cfg.optimized_metric
    if metric and metric not in ALWAYS_LOGGED:
        fail("optimized_metric", metric, f"it is never logged; logged: {list(ALWAYS_LOGGED)}")
    best = cfg.callbacks.checkpoint.best
    if best and best not in ALWAYS_LOGGED:
        # Lightning only warns, once, that the metric was not found, and writes no best.ckpt
        fail(
            "callbacks.checkpoint.best",
            best,
            f"it is never logged, so no best.ckpt would be written; logged: "
            f"{list(ALWAYS_LOGGED)} (e.g. callbacks.checkpoint.best=val/loss)",
        )
