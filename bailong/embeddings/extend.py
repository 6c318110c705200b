"""Extend a loaded base model to an extended tokenizer: resize, then fill the new rows.

One call between ``load_base_model`` and ``wrap_with_lora``. Old rows are never written; every
row past the old vocabulary (new tokens and ``pad_to_multiple_of`` padding) is written by the
chosen initializer, in the matrices' own dtype and device.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bailong.embeddings.config import FIT_OUTPUTS, EmbeddingInitConfig
from bailong.embeddings.context import InitContext
from bailong.embeddings.original import (
    check_append_only,
    new_token_pieces,
    original_tokens,
    read_original,
)
from bailong.embeddings.output_side import choose_output
from bailong.embeddings.registry import INIT_METHODS
from bailong.embeddings.resize import input_embedding_layer, resize_to, untied

PIECE_OUTPUTS = ("pieces", *FIT_OUTPUTS)  # output sides that read each token's pieces


@dataclass
class ExtensionReport:
    method: str
    num_old: int
    num_new_tokens: int
    num_padding: int
    mean_pieces: float | None  # average original pieces per new token (piece methods only)
    seconds: float

    @property
    def num_rows(self) -> int:
        return self.num_old + self.num_new_tokens + self.num_padding


def base_vocab_size(cfg: EmbeddingInitConfig, tokenizer: PreTrainedTokenizerBase) -> int:
    """Rows the base model has before extension: the original tokenizer's size, or the
    run tokenizer's when nothing is extended (``method: none``)."""
    if cfg.method == "none":
        return len(tokenizer)
    assert cfg.original_tokenizer is not None, "validated by check_embedding_init"
    return len(original_tokens(cfg.original_tokenizer))


def extend_embeddings(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: EmbeddingInitConfig
) -> ExtensionReport:
    """Resize ``model`` to ``tokenizer`` and initialize the new rows with ``cfg.method``.

    Every row from the original tokenizer's size on is written, including rows a base already
    had past its tokenizer (Qwen2's 151,936 rows for 151,665 tokens): no token ever used them.
    A tied model (one matrix for embedding and head) gets one row per new token, the input
    combination; its ``input_weights`` and ``output_weights`` must then agree (or
    ``tie_output_to_input`` be set, as in the default).
    """
    if cfg.method not in INIT_METHODS:
        raise ValueError(f"embedding_init.method={cfg.method!r}: allowed {sorted(INIT_METHODS)}")
    assert cfg.original_tokenizer is not None, "validated by check_embedding_init"
    method = INIT_METHODS[cfg.method]
    start = time.perf_counter()
    original = read_original(cfg.original_tokenizer)  # read and checked once
    check_append_only(tokenizer, original.tokens)
    num_model = input_embedding_layer(model).num_embeddings
    if num_model < len(original.tokens):
        raise ValueError(
            f"the model has {num_model} embedding rows but the original tokenizer "
            f"{cfg.original_tokenizer!r} has {len(original.tokens)} pieces; extend the model the "
            "original tokenizer belongs to"
        )
    differs = cfg.input_weights != cfg.output_weights and not cfg.tie_output_to_input
    if not untied(model) and cfg.method == "zip_tie" and differs:
        raise ValueError(
            f"embedding_init.output_weights={cfg.output_weights!r} differs from input_weights="
            f"{cfg.input_weights!r}, but this model ties its head to its embedding (one row per "
            "token); set both to the same weighting"
        )
    if not untied(model) and cfg.output != "method":
        raise ValueError(
            f"embedding_init.output={cfg.output!r} chooses lm_head rows apart from embed_tokens "
            "rows, but this model ties its head to its embedding (one row per token); set "
            "embedding_init.output=method"
        )
    resize_to(model, max(len(tokenizer), num_model), cfg.pad_to_multiple_of)
    num_old = len(original.tokens)
    inp, out = input_embedding_layer(model), model.get_output_embeddings()
    num_rows = inp.num_embeddings
    # Views of the old rows (the resize copied them unchanged); only rows >= num_old are written.
    old_input = inp.weight.detach()[:num_old]
    old_output = out.weight.detach()[:num_old] if untied(model) else old_input
    pieces = None
    if method.uses_pieces or cfg.output in PIECE_OUTPUTS:
        pieces = new_token_pieces(
            tokenizer,
            original,
            num_rows,
            space_piece=cfg.space_piece,
            include_bos=cfg.include_bos,
        )
    ctx = InitContext(
        old_input=old_input,
        old_output=old_output,
        num_new=num_rows - num_old,
        pieces=pieces,
        cfg=cfg,
        initializer_range=float(getattr(model.config, "initializer_range", 0.02)),
        generator=torch.Generator().manual_seed(cfg.seed),
        model=model,
        tokenizer=tokenizer,
    )
    rows = choose_output(ctx, method.fn(ctx))
    with torch.no_grad():
        inp.weight[num_old:] = rows.input.to(inp.weight.dtype)
        if untied(model):
            out.weight[num_old:] = rows.output.to(out.weight.dtype)
    new_tokens = len(tokenizer) - num_old
    return ExtensionReport(
        method=cfg.method,
        num_old=num_old,
        num_new_tokens=new_tokens,
        num_padding=num_rows - len(tokenizer),
        mean_pieces=(
            sum(len(p) for p in pieces[:new_tokens]) / new_tokens if pieces and new_tokens else None
        ),
        seconds=time.perf_counter() - start,
    )
