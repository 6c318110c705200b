"""New rows as weighted combinations of old rows, in one sparse matrix product.

``W`` (new rows × old vocabulary) holds each new token's piece weights; the new rows are
``W @ E_old``. Building ``W`` is one pass over the piece lists and the product is one
``torch.sparse.mm``, so 27,241 new tokens over a 32,000 × 4,096 matrix take about a second.

Exactness: a weight is stored as an integer count over a per-row denominator (uniform over n
pieces = 1 each, over n), the product sums in float64 — exact for a handful of float32/bf16
values, so the order of summation cannot matter — and one division and one cast follow. A row
therefore equals ``(Σ_i c_i·E[p_i]) / n`` rounded once to float64 and once to the matrix dtype,
whatever the sparse kernel's order.

A repeated piece (the same byte twice in one character) counts once per occurrence.
A row with no pieces (padding rows, empty text) gets the mean of all old rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from bailong.embeddings.config import PIECE_WEIGHTS


def piece_weights(count: int, scheme: str) -> tuple[list[int], int]:
    """Integer weights of a token's ``count`` pieces, in order, and their denominator.

    uniform: 1/n each; first: all weight on the first piece; last: all on the last piece.
    """
    if scheme == "uniform":
        return [1] * count, count
    if scheme == "first":
        return [1] + [0] * (count - 1), 1
    if scheme == "last":
        return [0] * (count - 1) + [1], 1
    raise ValueError(f"piece weighting {scheme!r} is unknown; allowed: {list(PIECE_WEIGHTS)}")


def combination_matrix(
    pieces: Sequence[Sequence[int]], num_old: int, scheme: str = "uniform"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sparse float64 ``(len(pieces), num_old)`` weight numerators (coalesced) and the float64
    per-row denominators (1 for rows without pieces)."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    denominators = [1.0] * len(pieces)
    for i, ids in enumerate(pieces):
        if not ids:
            continue
        weights, denominators[i] = piece_weights(len(ids), scheme)
        for col, weight in zip(ids, weights, strict=True):
            if weight:
                rows.append(i)
                cols.append(col)
                vals.append(float(weight))
    if cols and (max(cols) >= num_old or min(cols) < 0):
        raise ValueError(f"piece id {max(cols)} is outside the original vocabulary of {num_old}")
    indices = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
    values = torch.tensor(vals, dtype=torch.float64)
    matrix = torch.sparse_coo_tensor(
        indices, values, (len(pieces), num_old), check_invariants=True
    ).coalesce()
    return matrix, torch.tensor(denominators, dtype=torch.float64)


def combine_rows(
    old: torch.Tensor, pieces: Sequence[Sequence[int]], scheme: str = "uniform"
) -> torch.Tensor:
    """One new row per entry of ``pieces`` (``W @ old``), in ``old``'s dtype and device.

    Only the old rows some piece refers to (for Chinese, mostly the 256 byte rows) are copied
    to float64, so the extra memory is the new rows plus those rows, not a float64 copy of the
    whole (32,000 × 4,096) matrix.
    """
    weights, denominators = combination_matrix(pieces, old.shape[0], scheme)
    used, columns = torch.unique(weights.indices()[1], return_inverse=True)
    compact = torch.sparse_coo_tensor(
        torch.stack([weights.indices()[0], columns]),
        weights.values(),
        (len(pieces), len(used)),
        check_invariants=True,
    ).to(old.device)
    new = torch.sparse.mm(compact, old.detach()[used.to(old.device)].to(torch.float64))
    new /= denominators.to(old.device)[:, None]
    empty = torch.tensor([not ids for ids in pieces], dtype=torch.bool, device=old.device)
    if bool(empty.any()):
        new[empty] = old.detach().mean(dim=0, dtype=torch.float64)
    return new.to(old.dtype)
