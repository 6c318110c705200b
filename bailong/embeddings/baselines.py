"""Baseline initializations for new vocabulary rows, to compare zip-tie against.

- ``zeros``: every new row is 0 (a new token's logit starts at 0, its input is a null vector).
- ``random``: N(0, σ²) with σ = the model's ``initializer_range`` (its own init, 0.02 for Llama).
- ``mean``: every new row is the mean of the old rows of the same matrix.
- ``mean_cov``: Hewitt (2021, "Initializing new word embeddings for pretrained language
  models"): sample from N(μ, s·Σ) with the old rows' mean μ and covariance Σ, per matrix; with
  s = 1e-9 this is transformers' ``mean_resizing=True``. Falls back to μ when s·Σ is not
  positive definite, as transformers does.
- ``subword_mean``: the uniform mean of the rows of the pieces the original tokenizer splits
  the token's text into, per matrix (what Chinese-LLaMA-Alpaca users commonly do).
"""

from __future__ import annotations

import torch

from bailong.embeddings.combine import combine_rows
from bailong.embeddings.context import InitContext, NewRows


def _like(old: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return rows.to(dtype=old.dtype, device=old.device)


def zeros(ctx: InitContext) -> NewRows:
    return NewRows(
        input=ctx.old_input.new_zeros(ctx.num_new, ctx.old_input.shape[1]),
        output=ctx.old_output.new_zeros(ctx.num_new, ctx.old_output.shape[1]),
    )


def random(ctx: InitContext) -> NewRows:
    def sample(old: torch.Tensor) -> torch.Tensor:
        rows = torch.randn(ctx.num_new, old.shape[1], generator=ctx.generator, dtype=torch.float32)
        return _like(old, rows * ctx.initializer_range)

    return NewRows(input=sample(ctx.old_input), output=sample(ctx.old_output))


def mean(ctx: InitContext) -> NewRows:
    def rows(old: torch.Tensor) -> torch.Tensor:
        mu = old.detach().mean(dim=0, dtype=torch.float64)
        return _like(old, mu.expand(ctx.num_new, -1))

    return NewRows(input=rows(ctx.old_input), output=rows(ctx.old_output))


def _mean_cov_rows(old: torch.Tensor, ctx: InitContext) -> torch.Tensor:
    centered = old.detach().to(torch.float32, copy=True)  # the one full-size copy
    mu = centered.mean(dim=0)
    centered.sub_(mu)
    cov = ctx.cfg.cov_scale * (centered.T @ centered).cpu() / centered.shape[0]
    mu = mu.cpu()
    del centered
    chol, info = torch.linalg.cholesky_ex(cov.to(torch.float64))
    if int(info) != 0:  # not positive definite: the mean, as transformers does
        return _like(old, mu.expand(ctx.num_new, -1))
    noise = torch.randn(ctx.num_new, old.shape[1], generator=ctx.generator, dtype=torch.float64)
    return _like(old, mu.to(torch.float64) + noise @ chol.T)


def mean_cov(ctx: InitContext) -> NewRows:
    return NewRows(
        input=_mean_cov_rows(ctx.old_input, ctx), output=_mean_cov_rows(ctx.old_output, ctx)
    )


def subword_mean(ctx: InitContext) -> NewRows:
    assert ctx.pieces is not None
    return NewRows(
        input=combine_rows(ctx.old_input, ctx.pieces, "uniform"),
        output=combine_rows(ctx.old_output, ctx.pieces, "uniform"),
    )
