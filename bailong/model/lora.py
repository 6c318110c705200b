"""Wrap a (4-bit) base model with peft LoRA adapters, and choose how embeddings train.

Or train every weight (``lora.enabled: false``, unquantized only): pretraining a base from
scratch uses the same run, data and logging as continued pretraining.

``embeddings`` decides ``embed_tokens``/``lm_head``: ``frozen``; ``full`` (peft
``modules_to_save``: trainable full-precision copies, saved with the adapter, as
Chinese-LLaMA-Alpaca does for an extended vocabulary); or ``lora`` (low-rank updates on them).
"""

from __future__ import annotations

from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import PreTrainedModel

from bailong.config import EmbeddingMode, LoraConfig

EMBEDDING_MODULES = ["embed_tokens", "lm_head"]
LLAMA_LINEAR_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def peft_config(cfg: LoraConfig) -> PeftLoraConfig:
    targets: str | list[str]
    if cfg.target_modules == ["all-linear"]:
        # peft's "all-linear" skips lm_head; spelled out so "lora" embeddings can add it.
        targets = list(LLAMA_LINEAR_MODULES)
    else:
        targets = list(cfg.target_modules)
    modules_to_save = None
    if cfg.embeddings is EmbeddingMode.full:
        modules_to_save = list(EMBEDDING_MODULES)
    elif cfg.embeddings is EmbeddingMode.lora:
        targets = [*targets, *EMBEDDING_MODULES]
    return PeftLoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=targets,
        modules_to_save=modules_to_save,
        bias=cfg.bias,
        task_type="CAUSAL_LM",
    )


def wrap_with_lora(
    model: PreTrainedModel, cfg: LoraConfig, gradient_checkpointing: bool
) -> PeftModel:
    """Add LoRA adapters; only the adapters (and embeddings per ``cfg.embeddings``) train."""
    if model.config.tie_word_embeddings:
        raise ValueError("tied input/output embeddings are not supported; Llama 2 is untied")
    ckpt_kwargs = {"use_reentrant": False}
    if getattr(model, "is_loaded_in_4bit", False):
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=gradient_checkpointing,
            gradient_checkpointing_kwargs=ckpt_kwargs,
        )
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=ckpt_kwargs)
        model.enable_input_require_grads()
    return get_peft_model(model, peft_config(cfg))


def train_all_weights(model: PreTrainedModel, gradient_checkpointing: bool) -> PreTrainedModel:
    """No adapters: every parameter of the (unquantized) model trains."""
    if getattr(model, "is_loaded_in_4bit", False):
        raise ValueError("4-bit weights cannot train; load the model with quantization=none")
    model.requires_grad_(True)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model
