"""bitsandbytes' packed 4-bit CPU kernel: the shapes it takes, and why bailong does not use it.

On CPUs with AVX512-BF16 (Intel Sapphire Rapids class, recent AMD EPYC), bitsandbytes >= 0.49
repacks a ``Linear4bit`` weight for a faster CPU kernel the first time the layer runs in eval
mode without gradients (our step-0 validation, held-out scoring, evaluation, chat). Two
consequences, none visible on CPUs without that instruction set:

- The repacking asserts that each output dimension is a multiple of 32 and its 4-bit blocks
  want 64, so a model with, say, ``intermediate_size: 344`` crashes in its first validation.
  Configs are checked for this before anything loads (``cpu_4bit_shape_errors``).
- The packed weight stays packed, and the packed kernel has no autograd formula: training after
  a validation pass silently drops every gradient that flows *through* a 4-bit layer (measured
  on the tiny Llama: layer-0 LoRA-B gradient norm 0.015 → 0.0, embedding gradient norm
  2.05 → 0.88).
- Inference through the packed kernel differs from the dequantizing kernel (logits of the tiny
  Llama by up to 5e-3), so the same run would evaluate differently on different CPUs.

``use_portable_4bit_kernel`` turns the repacking off in every 4-bit model bailong loads:
training, evaluation and export compute the same way on every CPU, at some CPU inference
speed. The shape rule is still checked, because other tools that load the same model with
bitsandbytes' defaults (an inference script on such a CPU) would crash on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

CPU_4BIT_MULTIPLE = 64


def linear_dims(config: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Each config key that sets a linear layer's width → (the key's value, the width): the
    attention projections are as wide as their head count × the head size."""
    hidden = int(config["hidden_size"])
    heads = int(config.get("num_attention_heads", 1))
    head_dim = int(config.get("head_dim") or hidden // heads)
    kv_heads = int(config.get("num_key_value_heads") or heads)
    dims = {
        "hidden_size": (hidden, hidden),
        "num_attention_heads": (heads, heads * head_dim),
        "num_key_value_heads": (kv_heads, kv_heads * head_dim),
    }
    if "intermediate_size" in config:
        size = int(config["intermediate_size"])
        dims["intermediate_size"] = (size, size)
    return dims


def cpu_4bit_shape_errors(config: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(key, value, width) for each linear width the 4-bit CPU kernel cannot take."""
    if "hidden_size" not in config:
        return []
    return [
        (key, value, width)
        for key, (value, width) in linear_dims(config).items()
        if width % CPU_4BIT_MULTIPLE
    ]


def use_portable_4bit_kernel(model: torch.nn.Module) -> int:
    """Turn off bitsandbytes' eval-time CPU repacking in every 4-bit layer; returns how many.

    Harmless on CPUs without AVX512-BF16 and on GPUs (the flag is only read for CPU inputs).
    """
    from bitsandbytes.nn import Linear4bit

    layers = [m for m in model.modules() if isinstance(m, Linear4bit)]
    for layer in layers:
        layer.support_avx512bf16_for_cpu = False
    return len(layers)
