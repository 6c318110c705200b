"""Settings of the model stage: which base to load, how to quantize it, how LoRA wraps it.

Checked by ``check_model_settings`` (called by the train door, ``bailong.training.validate``); the
probe
reuses ``ModelConfig``/``QuantizationConfig`` and the two file-reading checks. Heavy modules
(transformers, bitsandbytes) are imported inside the checks that need them, so a config error
costs no model-library start-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from bailong.core.checks import check_choice, fail

DTYPES = ("float32", "bfloat16", "float16")
# transformers' own attention code; any other value names a kernel repository on the hub,
# which transformers downloads and runs through the `kernels` package
BUILTIN_ATTENTION = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")
EXPORT_BASES = ("dequantized", "original")  # what bailong-export merges LoRA into
PeftBias = Literal["none", "all", "lora_only"]  # what peft's LoraConfig takes as bias
PEFT_BIASES: tuple[PeftBias, ...] = ("none", "all", "lora_only")


class EmbeddingMode(str, Enum):
    """How ``embed_tokens`` and ``lm_head`` train: not at all, fully, only the rows the
    vocabulary extension added, or through LoRA."""

    frozen = "frozen"
    full = "full"
    new_rows = "new_rows"
    lora = "lora"


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
    # Liger Kernel's fused Triton kernels on a Llama (CUDA only, `pip install 'bailong[gpu]'`):
    # bailong/model/fused_kernels.py says what they replace.
    liger_kernel: bool = False


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


def check_model_settings(model: ModelConfig, quant: QuantizationConfig, lora: LoraConfig) -> None:
    """Values types cannot express, in the order a reader meets them in a config."""
    if not lora.enabled and quant.enabled:
        fail(
            "lora.enabled",
            False,
            "training every weight needs an unquantized model (4-bit weights cannot train); "
            "use quantization=none with lora=none",
        )
    if lora.r <= 0:
        fail("lora.r", lora.r, "the LoRA rank must be a positive integer")
    check_choice("lora.bias", lora.bias, PEFT_BIASES)
    if lora.alpha <= 0:
        fail("lora.alpha", lora.alpha, "LoRA alpha must be positive")
    if not 0.0 <= lora.dropout < 1.0:
        fail("lora.dropout", lora.dropout, "dropout must lie in [0, 1)")
    if not lora.target_modules:
        fail("lora.target_modules", lora.target_modules, "name at least one module")
    if model.liger_kernel and lora.enabled and lora.embeddings is EmbeddingMode.lora:
        fail(
            "model.liger_kernel",
            True,
            "Liger's fused linear cross-entropy reads lm_head.weight directly and would skip the "
            "head's LoRA update; use lora.embeddings=new_rows, full or frozen with it",
        )
    check_choice("model.dtype", model.dtype, DTYPES)
    check_choice("quantization.quant_type", quant.quant_type, ("nf4", "fp4"))
    check_choice("quantization.compute_dtype", quant.compute_dtype, DTYPES)
    check_choice("quantization.quant_storage", quant.quant_storage, ("uint8", *DTYPES))
    if model.name_or_path is None and not model.config:
        fail("model.config", {}, "give model.name_or_path or a model config under model.config")
    if model.trust_remote_code and model.name_or_path is None:
        fail("model.trust_remote_code", True, "only meaningful with model.name_or_path")
    check_attention(model.attn_implementation)
    check_model_type(model)


def check_attention(name: str) -> None:
    """A built-in attention, or a hub kernel (``org/repo``) with the ``kernels`` package that
    loads it installed; without it transformers fails with an ImportError after the model
    weights have loaded."""
    import importlib.util

    if name in BUILTIN_ATTENTION:
        return
    if "/" not in name:
        fail("model.attn_implementation", name, f"allowed values are {list(BUILTIN_ATTENTION)}")
    if importlib.util.find_spec("kernels") is None:
        fail(
            "model.attn_implementation",
            name,
            "a hub kernel needs the `kernels` package: pip install kernels, or use a built-in "
            "attention (model.attn_implementation=sdpa)",
        )


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
        fail(
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
        fail(
            f"{prefix}{key}",
            value,
            f"4-bit runs on CPU need every linear layer's width to be a multiple of "
            f"{CPU_4BIT_MULTIPLE}{shape}: on CPUs with AVX512-BF16, bitsandbytes repacks 4-bit "
            "weights for its CPU kernel in blocks and rejects other sizes; choose a multiple of "
            f"{CPU_4BIT_MULTIPLE}, or quantization=none",
        )
