"""``piece_logprob``: output rows whose logit is the base's own log-probability of the pieces.

This is this project's method, not the paper's. On a base that reads a Chinese character as
UTF-8 byte pieces ``b1 b2 b3``, the base itself assigns the character
``log p(c | ctx) = log p(b1 | ctx) + log p(b2 | ctx, b1) + log p(b3 | ctx, b1, b2)``. Averaging
piece rows (zip-tie's readings) cannot express this: ``b2``/``b3``'s logits at a position that
expects a lead byte carry nothing about the character, and ``first`` gives every character
with the same lead byte (thousands of them) the same logit. So a new token ``t`` with pieces
``p1 … pn`` gets the ``lm_head`` row

    u_t = E_out[p1] + r_t · w,    so that    logit_t(h) = logit_{p1}(h) + r_t · (h · w)

- ``r_t = Σ_{k≥2} log p_base(p_k | <s>, earlier pieces of p_k's character)``: the rest of the
  token's pieces under the base, each character scored on its own after BOS (context-free;
  a piece that starts a character is scored after BOS alone). One batched forward over the
  distinct character prefixes (349 for the 27,241 tokens of the default extension) computes
  them all.
- ``w``: a direction with ``h · w ≈ 1`` for the base's final hidden states ``h``, fitted by ridge
  least squares on states of text the base samples itself (no data set, nothing held out is
  read), so ``r_t · w`` acts as a per-token logit bias although ``lm_head`` has none.

The token then takes ``p1``'s share of probability split by the base's own preferences
instead of duplicating it, and English (where ``p1``, a Chinese lead byte, is unlikely) loses
little. The ``embed_tokens`` rows are combined like zip-tie's (``input_weights``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from transformers import GenerationMixin, PreTrainedModel

from bailong.embeddings.combine import combine_rows
from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.pieces import load_model_proto
from bailong.embeddings.resize import input_embedding_layer

FIT_SEQUENCES, FIT_TOKENS = 16, 48  # sampled text w is fitted on: 16 × 48 tokens
RIDGE = 1e-3
BATCH = 256  # character prefixes per forward pass


def unit_starts(piece_strings: Sequence[str]) -> list[bool]:
    """For each original piece: does it start a character (``True``), or continue one?

    Byte pieces ``<0x80>``–``<0xBF>`` are UTF-8 continuation bytes; every other piece starts
    a unit of its own.
    """
    starts = []
    for piece in piece_strings:
        byte = int(piece[3:5], 16) if len(piece) == 6 and piece.startswith("<0x") else None
        starts.append(byte is None or not 0x80 <= byte <= 0xBF)
    return starts


def _contexts(
    pieces: Sequence[Sequence[int]], starts: Sequence[bool]
) -> list[list[tuple[int, ...]]]:
    """Per token, per piece after the first: its character's earlier pieces (the context)."""
    out = []
    for ids in pieces:
        contexts: list[tuple[int, ...]] = []
        current: tuple[int, ...] = ()
        for k, piece in enumerate(ids):
            current = () if starts[piece] else current
            if k:
                contexts.append(current)
            current = (*current, piece)
        out.append(contexts)
    return out


@torch.no_grad()
def rest_logprobs(
    model: PreTrainedModel, pieces: Sequence[Sequence[int]], starts: Sequence[bool], bos: int
) -> torch.Tensor:
    """``r_t`` of every token (float64; 0 for tokens of one piece or none), normalized over
    the original vocabulary only (the model may already be resized)."""
    num_old = len(starts)
    per_token = _contexts(pieces, starts)
    unique = sorted({c for contexts in per_token for c in contexts}, key=lambda c: (len(c), c))
    device = input_embedding_layer(model).weight.device
    table: dict[tuple[int, ...], torch.Tensor] = {}
    for length in sorted({len(c) for c in unique}):
        group = [c for c in unique if len(c) == length]
        for i in range(0, len(group), BATCH):
            chunk = group[i : i + BATCH]
            ids = torch.tensor([[bos, *c] for c in chunk], device=device)
            logits = model(input_ids=ids).logits[:, -1, :num_old].float()
            for context, row in zip(chunk, torch.log_softmax(logits, dim=-1).cpu(), strict=True):
                table[context] = row
    totals = [
        sum(float(table[c][p]) for c, p in zip(contexts, ids[1:], strict=True))
        for contexts, ids in zip(per_token, pieces, strict=True)
    ]
    return torch.tensor(totals, dtype=torch.float64)


@torch.no_grad()
def unit_direction(
    model: PreTrainedModel, bos: int, eos: int, primers: Sequence[int], num_old: int, seed: int
) -> torch.Tensor:
    """``w`` (float64) with ``h · w ≈ 1`` over final hidden states of text the model samples
    from its original vocabulary, each sequence started by a random primer piece (without
    one, a base trained mostly on Chinese samples only Chinese, and ``w`` fits only that)."""
    if not isinstance(model, GenerationMixin):
        raise TypeError(f"piece_logprob samples text, but {type(model).__name__} cannot generate")
    num_rows = model.get_output_embeddings().weight.shape[0]
    device = input_embedding_layer(model).weight.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        first = torch.tensor(random.Random(seed).sample(list(primers), FIT_SEQUENCES))
        start = torch.stack([torch.full_like(first, bos), first], dim=1).to(device)
        # transformers types generate's self as its GenerativePreTrainedModel protocol (written
        # for the ty checker), which its own PreTrainedModel does not satisfy under mypy
        text = model.generate(  # type: ignore[misc]
            start,
            attention_mask=torch.ones_like(start),
            do_sample=True,
            top_k=0,
            max_new_tokens=FIT_TOKENS,
            min_new_tokens=FIT_TOKENS,
            use_cache=True,
            pad_token_id=eos,
            suppress_tokens=list(range(num_old, num_rows)) or None,
        )
    hidden = model.get_decoder()(input_ids=text).last_hidden_state[:, 2:]
    states = hidden.reshape(-1, hidden.shape[-1]).to(torch.float64).cpu()
    gram = states.T @ states + RIDGE * torch.eye(states.shape[1], dtype=torch.float64)
    return torch.linalg.solve(gram, states.sum(dim=0))


def context_free_rest(ctx: InitContext) -> torch.Tensor:
    """``r_t`` of every new row, each character of the token scored after BOS alone."""
    assert ctx.pieces is not None and ctx.model is not None
    assert ctx.cfg.original_tokenizer is not None
    proto = load_model_proto(ctx.cfg.original_tokenizer)
    starts = unit_starts([p.piece for p in proto.pieces])
    with evaluating(ctx.model):
        return rest_logprobs(ctx.model, ctx.pieces, starts, special_ids(proto)[0])


def special_ids(proto) -> tuple[int, int]:
    """(BOS, EOS) of the original SentencePiece model."""
    control = {p.piece: i for i, p in enumerate(proto.pieces) if p.type == p.CONTROL}
    return control["<s>"], control["</s>"]


@contextmanager
def evaluating(model: PreTrainedModel) -> Iterator[None]:
    """``model`` in eval mode for the block, then back to the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def logprob_output(ctx: InitContext, rest: torch.Tensor) -> torch.Tensor:
    """New ``lm_head`` rows ``E_out[p1] + r_t · w`` for the per-row ``rest`` (float64)."""
    assert ctx.pieces is not None and ctx.model is not None
    assert ctx.cfg.original_tokenizer is not None
    proto = load_model_proto(ctx.cfg.original_tokenizer)
    bos, eos = special_ids(proto)
    primers = [i for i, p in enumerate(proto.pieces) if p.type == p.NORMAL]
    with evaluating(ctx.model):
        direction = unit_direction(ctx.model, bos, eos, primers, len(proto.pieces), ctx.cfg.seed)
    first = [ids[:1] for ids in ctx.pieces]
    output = combine_rows(ctx.old_output, first, "first").to(torch.float64)
    output += rest[:, None].to(output.device) * direction.to(output.device)
    return output.to(ctx.old_output.dtype)


def piece_logprob(ctx: InitContext) -> NewRows:
    assert ctx.pieces is not None
    return NewRows(
        input=combine_rows(ctx.old_input, ctx.pieces, ctx.cfg.input_weights),
        output=logprob_output(ctx, context_free_rest(ctx)),
    )
