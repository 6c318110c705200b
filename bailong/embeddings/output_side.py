"""``embedding_init.output``: the new ``lm_head`` rows, chosen apart from the input rows.

On the reference base the damage of extension is on the output side (piece rows cannot tell
the new tokens apart, experiments/zip_tie_refbase): zip-tie's input rows with ZERO output rows
scored better than any method's own pair. So the output side is its own choice:

- ``method``: the method's own output rows (the default; what every method did before);
- ``zeros``: zero rows (a new token's logit starts at 0);
- ``tied``: a copy of the new input rows;
- ``pieces``: the combination of the pieces' ``lm_head`` rows (``output_weights``);
- ``corpus_logprob``: ``piece_logprob``'s row ``E_out[p1] + r_t·w``, with ``r_t`` the base's
  log-probability of the token's remaining pieces IN THEIR REAL CONTEXTS: averaged over the
  token's snippets of fitting text (``fit``), each piece scored after the text before it and
  the token's earlier pieces (so the second character of a word is scored after the first, not
  after BOS). Tokens without snippets keep piece_logprob's context-free estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import PreTrainedModel

from bailong.embeddings.combine import combine_rows
from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.piece_logprob import context_free_rest, evaluating, logprob_output
from bailong.embeddings.snippets import Snippet, padded

BATCH = 64  # snippets per forward pass


@torch.no_grad()
def corpus_rest(
    model: PreTrainedModel, snippets: Sequence[Snippet], num_new: int, num_old: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per new row: the sum over its snippets of ``Σ_{k≥2} log p(p_k | text before, p_<k)``
    (softmax over the original vocabulary) and the number of snippets (float64 each)."""
    total = torch.zeros(num_new, dtype=torch.float64)
    count = torch.zeros(num_new, dtype=torch.float64)
    head = model.get_output_embeddings().weight[:num_old]
    device = head.device
    for i in range(0, len(snippets), BATCH):
        chunk = snippets[i : i + BATCH]
        ids, mask = padded([s.teacher() for s in chunk], device)
        hidden = model.get_decoder()(input_ids=ids, attention_mask=mask)
        sample, at, target = [], [], []
        for b, s in enumerate(chunk):
            for k in range(1, len(s.pieces)):  # piece k is predicted at the position before it
                sample.append(b)
                at.append(len(s.prefix) + k - 1)
                target.append(s.pieces[k])
        rows = torch.tensor([s.row for s in chunk])
        count.index_add_(0, rows, torch.ones(len(chunk), dtype=torch.float64))
        if not sample:
            continue
        states = hidden.last_hidden_state[torch.tensor(sample), torch.tensor(at)]
        logp = torch.log_softmax((states @ head.T.to(states.dtype)).float(), dim=-1)
        picked = logp[torch.arange(len(target)), torch.tensor(target)].double().cpu()
        total.index_add_(0, rows[torch.tensor(sample)], picked)
    return total, count


def corpus_logprob(ctx: InitContext) -> torch.Tensor:
    """``lm_head`` rows of ``output=corpus_logprob`` (see the module docstring)."""
    assert ctx.model is not None
    rest = context_free_rest(ctx)
    with evaluating(ctx.model):
        total, count = corpus_rest(ctx.model, ctx.snippets(), ctx.num_new, ctx.old_input.shape[0])
    seen = count > 0
    rest[seen] = total[seen] / count[seen]
    return logprob_output(ctx, rest)


def choose_output(ctx: InitContext, rows: NewRows) -> NewRows:
    """``rows`` with the output side ``ctx.cfg.output`` (``method`` keeps them as they are)."""
    side = ctx.cfg.output
    old = ctx.old_output
    if side == "method":
        return rows
    if side == "zeros":
        output = old.new_zeros(ctx.num_new, old.shape[1])
    elif side == "tied":
        output = rows.input.to(dtype=old.dtype, device=old.device)
    elif side == "pieces":
        assert ctx.pieces is not None
        output = combine_rows(old, ctx.pieces, ctx.cfg.output_weights)
    elif side == "corpus_logprob":
        output = corpus_logprob(ctx)
    else:
        raise ValueError(f"embedding_init.output={side!r} is unknown")
    return NewRows(input=rows.input, output=output)
