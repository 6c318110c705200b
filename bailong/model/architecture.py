"""What bailong needs to know about a causal LM, read from the loaded model, not from Llama.

LoRA targets, the embedding and head module names, and whether the two share one matrix all
differ between families (Llama/Mistral/Qwen2 untied or tied, Gemma always tied, GPT-2-style
``wte``, fused ``qkv_proj`` in Phi-3). They are read from the model object itself:

* the input embedding is ``get_input_embeddings()``, the head ``get_output_embeddings()``;
* the LoRA targets of ``all-linear`` are the names of every linear layer in the model other
  than the head (peft's own rule for ``all-linear``, spelled out so ``lora.embeddings=lora`` can
  add the embedding names to the same list);
* ``tied``: the head's weight IS the embedding's weight (Gemma, Qwen2.5-0.5B, Llama 3.2 1B).

A random model built from ``model.config`` takes its family from ``model_type`` (default
``llama``), so tiny CPU variants of Qwen2, Mistral or Gemma shapes run the same code as a real
checkpoint of that family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
from transformers.pytorch_utils import Conv1D

DEFAULT_MODEL_TYPE = "llama"


@dataclass(frozen=True)
class Architecture:
    model_type: str
    input_embedding: str  # module name (last component), e.g. embed_tokens
    output_embedding: str | None  # e.g. lm_head; None for a model without a head
    tied: bool  # the head's weight is the input embedding's weight
    linear_modules: tuple[str, ...]  # names of every linear layer but the head

    @property
    def embedding_modules(self) -> list[str]:
        return [self.input_embedding] + ([self.output_embedding] if self.output_embedding else [])


def causal_lm_types() -> tuple[str, ...]:
    """Every ``model_type`` transformers can build an ``AutoModelForCausalLM`` for."""
    return tuple(sorted(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES))


def _module_name(model: torch.nn.Module, target: torch.nn.Module) -> str:
    for name, module in model.named_modules():
        if module is target:
            return name
    raise ValueError(f"{type(target).__name__} is not a submodule of {type(model).__name__}")


def describe(model: PreTrainedModel) -> Architecture:
    """Read the architecture facts from a loaded (possibly 4-bit) model."""
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    input_path = _module_name(model, inp)
    output_path = None if out is None else _module_name(model, out)
    linear = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear | Conv1D) and module is not out
    }
    if output_path is not None and type(out).__name__.startswith("Linear4bit"):
        raise ValueError(
            f"the output embedding {output_path!r} was quantized to 4 bits; add "
            f"{output_path.rsplit('.', 1)[-1]!r} to quantization.skip_modules"
        )
    return Architecture(
        model_type=str(model.config.model_type),
        input_embedding=input_path.rsplit(".", 1)[-1],
        output_embedding=None if output_path is None else output_path.rsplit(".", 1)[-1],
        tied=out is not None and out.weight is inp.weight,
        linear_modules=tuple(sorted(linear)),
    )


def config_from_dict(config: dict[str, Any], vocab_size: int) -> Any:
    """A transformers config for ``config`` (``model_type`` picks the family, default llama)."""
    kwargs = dict(config)
    model_type = kwargs.pop("model_type", DEFAULT_MODEL_TYPE)
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ValueError(
            f"model.config.model_type={model_type!r} is not a causal LM transformers knows; "
            f"choose one of {list(causal_lm_types())}"
        )
    return AutoConfig.for_model(model_type, **kwargs, vocab_size=vocab_size)


def random_model(config: dict[str, Any], vocab_size: int) -> PreTrainedModel:
    """A causal LM of ``config``'s family with random weights (seed the RNG first)."""
    return AutoModelForCausalLM.from_config(config_from_dict(config, vocab_size))
