"""Resize ``embed_tokens`` and ``lm_head`` to a tokenizer, keeping every old row bit-identical.

transformers' ``resize_token_embeddings`` allocates new matrices, runs the model's random
init over every row of them (and, since 4.46, samples the new rows from the old rows' mean and
covariance unless ``mean_resizing=False``, PR #33325), then copies the old rows: at Llama-2-7B
shape that random init alone takes seconds per matrix and is thrown away, because the caller
overwrites every new row (``pad_to_multiple_of`` padding too). So we grow the matrices
ourselves: allocate, copy the old rows, zero the new ones for the caller to fill (zeros, not
uninitialized memory: a reloaded base whose new rows an adapter replaces must still hold finite
numbers when the adapter is disabled). This works on a
4-bit model (the
embeddings and head are kept out of quantization by ``llm_int8_skip_modules``) and must run
before peft wrapping, so the trainable copies peft makes already have the new size.
"""

from __future__ import annotations

from typing import cast

import torch
from transformers import PreTrainedModel


def input_embedding_layer(model: PreTrainedModel) -> torch.nn.Embedding:
    """``model.get_input_embeddings()``, typed as what it is for a causal LM."""
    # transformers declares it nn.Module; a causal LM's input embedding is an nn.Embedding
    # (Gemma's scaled one subclasses it), with num_embeddings and weight
    return cast(torch.nn.Embedding, model.get_input_embeddings())


def untied(model: PreTrainedModel) -> bool:
    out = model.get_output_embeddings()
    return out is None or out.weight is not input_embedding_layer(model).weight


def resize_to(model: PreTrainedModel, vocab_size: int, pad_to_multiple_of: int | None) -> int:
    """Grow both matrices to ``vocab_size`` (rounded up); return the old number of rows."""
    num_old = input_embedding_layer(model).num_embeddings
    out = model.get_output_embeddings()
    if out is not None and out.weight.shape[0] != num_old:
        raise ValueError(
            f"embed_tokens has {num_old} rows but lm_head has {out.weight.shape[0]}; "
            "cannot extend a model whose input and output vocabularies differ"
        )
    if vocab_size < num_old:
        raise ValueError(f"cannot shrink the vocabulary from {num_old} to {vocab_size} rows")
    if pad_to_multiple_of:
        vocab_size = -(-vocab_size // pad_to_multiple_of) * pad_to_multiple_of
    inp = input_embedding_layer(model)
    tied = not untied(model)
    inp.weight = grown(inp.weight, vocab_size)
    inp.num_embeddings = vocab_size
    if out is not None:
        out.weight = inp.weight if tied else grown(out.weight, vocab_size)
        out.out_features = vocab_size
    model.config.get_text_config().vocab_size = vocab_size
    return num_old


def grown(weight: torch.Tensor, rows: int) -> torch.nn.Parameter:
    """``weight`` with ``rows`` rows: the old rows copied bit for bit, the rest zeros."""
    new = torch.empty((rows, weight.shape[1]), dtype=weight.dtype, device=weight.device)
    new[: weight.shape[0]] = weight.detach()
    new[weight.shape[0] :] = 0
    return torch.nn.Parameter(new, requires_grad=weight.requires_grad)
