"""Wrap a (4-bit) base model with peft LoRA adapters, and choose how embeddings train.

Or train every weight (``lora.enabled: false``, unquantized only): pretraining a base from
scratch uses the same run, data and logging as continued pretraining.

``embeddings`` decides ``embed_tokens``/``lm_head``: ``frozen``; ``full`` (peft
``modules_to_save``: trainable full-precision copies, saved with the adapter, as
Chinese-LLaMA-Alpaca does for an extended vocabulary); ``new_rows`` (peft's
``trainable_token_indices``: only the rows past the original vocabulary train, in both
matrices; the old rows stay the base's own tensors, bit-identical by construction, and the
adapter and checkpoints hold only the new rows, 2 x new x hidden instead of 2 x all x hidden);
or ``lora`` (low-rank updates on them).

Module names come from the model (``bailong.model.architecture``), not from Llama. A model whose
head shares the embedding's matrix (Gemma, Qwen2.5-0.5B) stays tied: peft's
``ensure_weight_tying`` gives both one trainable copy (``full``), so the exported model, which
saves the matrix once, computes what training computed. ``lora`` embeddings on a tied model are
refused: peft ties the two LoRA pairs, but merging adds the shared update to the shared matrix
twice (measured: exported logits off by 0.04 on a tiny tied Qwen2).
"""

from __future__ import annotations

import torch
from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model, prepare_model_for_kbit_training
from transformers import PreTrainedModel

from bailong.embeddings.resize import input_embedding_layer
from bailong.model.architecture import Architecture, describe
from bailong.model.config import PEFT_BIASES, EmbeddingMode, LoraConfig, PeftBias

TIED_MODES = (EmbeddingMode.full, EmbeddingMode.new_rows)  # peft gives a tied pair one copy


def peft_config(
    cfg: LoraConfig, arch: Architecture, new_rows: range | None = None
) -> PeftLoraConfig:
    """``new_rows``: the embedding rows ``lora.embeddings=new_rows`` trains."""
    targets: str | list[str]
    if cfg.target_modules == ["all-linear"]:
        # peft's "all-linear" skips the head; spelled out so "lora" embeddings can add it.
        targets = list(arch.linear_modules)
    else:
        targets = list(cfg.target_modules)
    modules_to_save = None
    token_indices = None
    if cfg.embeddings is EmbeddingMode.full:
        modules_to_save = list(arch.embedding_modules)
    elif cfg.embeddings is EmbeddingMode.lora:
        targets = [*targets, *arch.embedding_modules]
    elif cfg.embeddings is EmbeddingMode.new_rows:
        if not new_rows:
            raise ValueError(
                "lora.embeddings=new_rows trains the rows a vocabulary extension adds, and this "
                "run adds none; set embedding_init (e.g. embedding_init=zip_tie) or use "
                "lora.embeddings=full or frozen"
            )
        token_indices = {name: list(new_rows) for name in arch.embedding_modules}
    return PeftLoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=targets,
        modules_to_save=modules_to_save,
        trainable_token_indices=token_indices,
        bias=_peft_bias(cfg.bias),
        task_type="CAUSAL_LM",
        ensure_weight_tying=arch.tied and cfg.embeddings in TIED_MODES,
    )


def wrap_with_lora(
    model: PreTrainedModel,
    cfg: LoraConfig,
    gradient_checkpointing: bool,
    old_rows: int | None = None,
) -> PeftModel:
    """Add LoRA adapters; only the adapters (and embeddings per ``cfg.embeddings``) train.

    ``old_rows``: the base's vocabulary before extension; with ``new_rows`` every row from it
    on (new tokens and padding) trains."""
    arch = describe(model)
    if arch.tied and cfg.embeddings is EmbeddingMode.lora:
        raise ValueError(
            f"lora.embeddings=lora is not supported for a {arch.model_type} model whose head is "
            "tied to its input embedding (the export would add the update twice); use "
            "lora.embeddings=full (one trainable matrix for both) or frozen"
        )
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
    rows = input_embedding_layer(model).num_embeddings
    new_rows = range(old_rows, rows) if old_rows is not None else None
    peft_model = get_peft_model(model, peft_config(cfg, arch, new_rows))
    if arch.tied:
        check_still_tied(peft_model)
    return peft_model


def check_still_tied(model: PeftModel) -> None:
    """The head must compute with the very rows the embedding trains (one matrix, one update)."""
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    if _active_weight(inp) is not _active_weight(out):
        raise ValueError(
            "the base ties its head to its input embedding, but after adding the adapter they "
            "hold different matrices; use lora.embeddings=full, lora or frozen with the model's "
            "own embedding names"
        )


def train_all_weights(model: PreTrainedModel, gradient_checkpointing: bool) -> PreTrainedModel:
    """No adapters: every parameter of the (unquantized) model trains."""
    if getattr(model, "is_loaded_in_4bit", False):
        raise ValueError("4-bit weights cannot train; load the model with quantization=none")
    model.requires_grad_(True)
    if gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model


def _peft_bias(value: str) -> PeftBias:
    """``lora.bias`` as the literal type peft's ``LoraConfig`` declares, or an error naming it."""
    for bias in PEFT_BIASES:
        if value == bias:
            return bias
    raise ValueError(f"lora.bias={value!r}: allowed values are {list(PEFT_BIASES)}")


def _active_weight(module: torch.nn.Module) -> torch.Tensor:
    """The matrix a (possibly peft-wrapped) embedding or head computes with (with trainable
    tokens: the trainable new rows, which a tied head shares with the embedding)."""
    tokens = getattr(module, "token_adapter", None)
    if tokens is not None:
        return tokens.trainable_tokens_delta["default"]
    copies = getattr(module, "modules_to_save", None)
    if copies is not None and "default" in copies:
        return copies["default"].weight
    get_base_layer = getattr(module, "get_base_layer", None)  # a peft-wrapped layer has one
    base = get_base_layer() if get_base_layer is not None else module
    weight = base.weight
    assert isinstance(weight, torch.Tensor), "an embedding's or head's weight is a tensor"
    return weight
