"""Opt-in fused GPU kernels for Llama training: Liger Kernel (``model.liger_kernel=true``).

Why Liger and not our own kernels: it is a maintained library (``pip install 'bailong[gpu]'``,
the optional ``liger-kernel`` package) whose Triton kernels compute the same functions as
transformers' Llama modules. ``apply_liger_kernel_to_llama(model=...)`` replaces, on the loaded
model (before peft wraps it): RMSNorm (every ``LlamaRMSNorm``), the SwiGLU MLP's forward (one
fused ``silu(gate) * up``; the gate/up/down projections stay the model's, so 4-bit layers and
LoRA are untouched), rotary embeddings, and the loss: fused linear cross-entropy computes the
loss from the last hidden states and ``lm_head.weight`` in chunks, so the full logits
(59,241 x sequence, fp32) are never materialized in training (logits are then not returned
when labels are given). With ``lora.embeddings=new_rows`` peft's ``lm_head.weight`` is the
merged matrix (old rows + trainable new rows), with ``full`` the trainable copy, so both
train as without the kernels; ``lora`` on the head is refused (the fused loss would read the
base weight and skip the head's LoRA). CPU runs never import it: the switch is off by default,
refused without CUDA (``bailong.training.preflight``), and apps that reload a run for
eval/chat/export
leave it off.
"""

from __future__ import annotations

import torch
from transformers import PreTrainedModel

KEY = "model.liger_kernel"


def apply_liger(model: PreTrainedModel) -> None:
    """Patch a loaded Llama with Liger's fused kernels (raises naming ``model.liger_kernel``)."""
    if not torch.cuda.is_available():
        raise ValueError(
            f"{KEY}=true: Liger Kernel's Triton kernels need a CUDA GPU and none is visible; "
            f"set {KEY}=false on CPU"
        )
    if model.config.model_type != "llama":
        raise ValueError(
            f"{KEY}=true is wired for Llama models only, not {model.config.model_type!r}; set "
            f"{KEY}=false"
        )
    try:
        from liger_kernel.transformers import apply_liger_kernel_to_llama
    except ImportError as err:
        raise ValueError(
            f"{KEY}=true: the liger-kernel package is not installed: pip install 'bailong[gpu]'"
        ) from err
    apply_liger_kernel_to_llama(
        rope=True,
        rms_norm=True,
        swiglu=True,
        cross_entropy=False,
        fused_linear_cross_entropy=True,
        model=model,
    )
