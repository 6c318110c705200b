"""Resize ``embed_tokens`` and ``lm_head`` to a tokenizer, keeping every old row bit-identical.

transformers' ``resize_token_embeddings`` copies the old rows and, since transformers 4.46,
fills the new ones by sampling from the old rows' mean and covariance unless
``mean_resizing=False`` (PR #33325). We always pass ``False``: the caller overwrites every new
row, including rows added by ``pad_to_multiple_of``. This works on a 4-bit model (the
embeddings and head are kept out of quantization by ``llm_int8_skip_modules``) and must run
before peft wrapping, so the trainable copies peft makes already have the new size.
"""

from __future__ import annotations

from transformers import PreTrainedModel


def untied(model: PreTrainedModel) -> bool:
    out = model.get_output_embeddings()
    return out is None or out.weight is not model.get_input_embeddings().weight


def resize_to(model: PreTrainedModel, vocab_size: int, pad_to_multiple_of: int | None) -> int:
    """Grow both matrices to ``vocab_size`` (rounded up); return the old number of rows."""
    num_old = model.get_input_embeddings().num_embeddings
    out = model.get_output_embeddings()
    if out is not None and out.weight.shape[0] != num_old:
        raise ValueError(
            f"embed_tokens has {num_old} rows but lm_head has {out.weight.shape[0]}; "
            "cannot extend a model whose input and output vocabularies differ"
        )
    if vocab_size < num_old:
        raise ValueError(f"cannot shrink the vocabulary from {num_old} to {vocab_size} rows")
    model.resize_token_embeddings(
        vocab_size, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=False
    )
    return num_old
