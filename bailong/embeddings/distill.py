"""``token_distillation``: learn each new input row so the base reads the token as its pieces.

Dobler et al. (2025, "Token Distillation: Attention-aware Input Embeddings for New Tokens",
arXiv 2505.20133): a new token's embedding should make the model's hidden states after the
single new token match those the ORIGINAL model computes after the token's original pieces.
For every snippet of fitting text containing the token (``bailong.embeddings.snippets``):

    teacher:  <s> prefix p1 … pn suffix      (the base, frozen, no new row involved)
    student:  <s> prefix  t      suffix      (the same base, t's row the only free parameter)

    loss = mean over the positions t … end of suffix of ‖h_student − h_teacher‖² / hidden

with ``h`` the hidden states at ``distill.target_layer``, the student's position of ``t``
matched with the teacher's position of ``pn``. Every snippet holds one new token, so the loss
is a sum of per-token objectives; the rows are optimized together in batches of snippets of
different tokens (Adam, ``distill.lr``, ``distill.steps`` × ``distill.batch_size`` snippets,
seeded order). A row starts from zip-tie's combination (``input_weights``); tokens without
fitting snippets keep it. The output rows are zeros (the best free output side measured on
the reference base); ``embedding_init.output`` chooses another.

Our own implementation, not the authors' code: it runs on the loaded base as it is (4-bit
too: gradients flow through the frozen NF4 layers to the input rows only) and never builds an
optimizer state for the base's weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from bailong.embeddings.combine import combine_rows
from bailong.embeddings.config import DistillConfig
from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.piece_logprob import evaluating
from bailong.embeddings.progress import fit_progress
from bailong.embeddings.resize import input_embedding_layer
from bailong.embeddings.snippets import Snippet, padded


@dataclass
class Batch:
    teacher: torch.Tensor  # (b, T) original ids, right-padded
    teacher_mask: torch.Tensor
    student: torch.Tensor  # (b, S) original ids, 0 at the new token's position
    student_mask: torch.Tensor
    new_at: torch.Tensor  # (b,) the new token's position in each student sequence
    rows: torch.Tensor  # (b,) the snippet's new row (an index into the fitted rows)
    sample: torch.Tensor  # (m,) matched positions: which sequence,
    teacher_at: torch.Tensor  # (m,) the teacher's position,
    student_at: torch.Tensor  # (m,) the student's position


def make_batch(snippets: Sequence[Snippet], local: dict[int, int], device: torch.device) -> Batch:
    """Teacher and student sequences of ``snippets``; ``local`` maps a new row to its index
    among the fitted rows."""
    teacher, teacher_mask = padded([s.teacher() for s in snippets], device)
    student, student_mask = padded([[*s.prefix, 0, *s.suffix] for s in snippets], device)
    sample, teacher_at, student_at = [], [], []
    for i, s in enumerate(snippets):
        start = len(s.prefix)
        for k in range(len(s.suffix) + 1):
            sample.append(i)
            teacher_at.append(start + len(s.pieces) - 1 + k)
            student_at.append(start + k)

    def long(values) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.long, device=device)

    return Batch(
        teacher,
        teacher_mask,
        student,
        student_mask,
        long([len(s.prefix) for s in snippets]),
        long([local[s.row] for s in snippets]),
        long(sample),
        long(teacher_at),
        long(student_at),
    )


def check_layer(model: PreTrainedModel, layer: int) -> None:
    layers = model.config.get_text_config().num_hidden_layers
    if not -layers - 1 <= layer <= layers:
        raise ValueError(
            f"embedding_init.distill.target_layer={layer}: this model has {layers} layers; "
            f"allowed {-layers - 1} … {layers} (0 = the embeddings, -1 = the last layer)"
        )


def batch_loss(
    model: PreTrainedModel, batch: Batch, rows: torch.Tensor, layer: int
) -> torch.Tensor:
    """The distillation objective of one batch (differentiable in ``rows`` only)."""
    decoder = model.get_decoder()
    with torch.no_grad():
        target = decoder(
            input_ids=batch.teacher, attention_mask=batch.teacher_mask, output_hidden_states=True
        ).hidden_states[layer][batch.sample, batch.teacher_at]
    embed = model.get_input_embeddings()
    with torch.no_grad():
        inputs = embed(batch.student)
    positions = torch.arange(len(batch.rows), device=inputs.device)
    inputs = inputs.index_put((positions, batch.new_at), rows[batch.rows].to(inputs.dtype))
    hidden = decoder(
        inputs_embeds=inputs, attention_mask=batch.student_mask, output_hidden_states=True
    ).hidden_states[layer][batch.sample, batch.student_at]
    return torch.nn.functional.mse_loss(hidden.float(), target.float())


def objective(
    model: PreTrainedModel,
    snippets: Sequence[Snippet],
    rows: torch.Tensor,
    layer: int,
    batch_size: int = 64,
) -> float:
    """The mean objective over ``snippets`` with new input rows ``rows`` (all new rows)."""
    local = {r: r for r in range(rows.shape[0])}
    device = input_embedding_layer(model).weight.device
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(snippets), batch_size):
            chunk = snippets[i : i + batch_size]
            loss = batch_loss(model, make_batch(chunk, local, device), rows, layer)
            total += float(loss) * len(chunk)
            count += len(chunk)
    return total / max(count, 1)


def distill_rows(
    model: PreTrainedModel,
    snippets: Sequence[Snippet],
    start: torch.Tensor,
    cfg: DistillConfig,
    seed: int,
) -> torch.Tensor:
    """``start`` (all new input rows) with the rows of tokens in ``snippets`` fitted."""
    check_layer(model, cfg.target_layer)
    if not snippets:
        return start
    device = input_embedding_layer(model).weight.device
    fitted = sorted({s.row for s in snippets})
    local = {row: i for i, row in enumerate(fitted)}
    index = torch.tensor(fitted, device=start.device)
    rows = torch.nn.Parameter(start[index].to(device=device, dtype=torch.float32).clone())
    optimizer = torch.optim.Adam([rows], lr=cfg.lr)
    generator = torch.Generator().manual_seed(seed)
    order: list[int] = []
    with evaluating(model), fit_progress("token_distillation", cfg.steps) as advance:
        for _ in range(cfg.steps):
            while len(order) < cfg.batch_size:  # epochs in a seeded order
                order += torch.randperm(len(snippets), generator=generator).tolist()
            chunk = [snippets[i] for i in order[: cfg.batch_size]]
            del order[: cfg.batch_size]
            loss = batch_loss(model, make_batch(chunk, local, device), rows, cfg.target_layer)
            (rows.grad,) = torch.autograd.grad(loss, [rows])
            optimizer.step()
            advance(f"loss {float(loss.detach()):.4f}")
    out = start.clone()
    out[index] = rows.detach().to(device=out.device, dtype=out.dtype)
    return out


def token_distillation(ctx: InitContext) -> NewRows:
    assert ctx.pieces is not None and ctx.model is not None
    start = combine_rows(ctx.old_input, ctx.pieces, ctx.cfg.input_weights)
    rows = distill_rows(ctx.model, ctx.snippets(), start, ctx.cfg.distill, ctx.cfg.seed)
    return NewRows(
        input=rows.to(ctx.old_input.dtype),
        output=ctx.old_output.new_zeros(ctx.num_new, ctx.old_output.shape[1]),
    )
