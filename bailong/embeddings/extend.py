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

from bailong.config import EmbeddingInitConfig
from bailong.embeddings.context import InitContext
from bailong.embeddings.pieces import check_append_only, load_model_proto, new_token_pieces
from bailong.embeddings.registry import INIT_METHODS
from bailong.embeddings.resize import resize_to, untied


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
    return len(load_model_proto(cfg.original_tokenizer).pieces)


def extend_embeddings(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: EmbeddingInitConfig
) -> ExtensionReport:
    """Resize ``model`` to ``tokenizer`` and initialize the new rows with ``cfg.method``."""
    if cfg.method not in INIT_METHODS:
        raise ValueError(f"embedding_init.method={cfg.method!r}: allowed {sorted(INIT_METHODS)}")
    assert cfg.original_tokenizer is not None, "validated by check_embedding_init"
    method = INIT_METHODS[cfg.method]
    start = time.perf_counter()
    proto = load_model_proto(cfg.original_tokenizer)
    check_append_only(tokenizer, proto)
    num_model = model.get_input_embeddings().num_embeddings
    if num_model != len(proto.pieces):
        raise ValueError(
            f"the model has {num_model} embedding rows but the original tokenizer "
            f"{cfg.original_tokenizer!r} has {len(proto.pieces)} pieces; extend the model the "
            "original tokenizer belongs to"
        )
    num_old = resize_to(model, len(tokenizer), cfg.pad_to_multiple_of)
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    num_rows = inp.num_embeddings
    # Views of the old rows (the resize copied them unchanged); only rows >= num_old are written.
    old_input = inp.weight.detach()[:num_old]
    old_output = out.weight.detach()[:num_old] if untied(model) else old_input
    pieces = None
    if method.uses_pieces:
        pieces = new_token_pieces(
            tokenizer,
            cfg.original_tokenizer,
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
    )
    rows = method.fn(ctx)
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
