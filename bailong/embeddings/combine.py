"""New rows as weighted combinations of old rows, in one sparse matrix product.

``W`` (new rows × old vocabulary) holds each new token's piece weights; the new rows are
``W @ E_old``. Building ``W`` is one pass over the piece lists and the product is one
``torch.sparse.mm``, so 27,241 new tokens over a 32,000 × 4,096 matrix take seconds. The
product is computed in float64 and cast back to the matrix dtype, so a row equals the
weighted sum of its pieces' rows to the last bit of the stored dtype.

A repeated piece (the same byte twice in one character) counts once per occurrence.
A row with no pieces (padding rows, empty text) gets the mean of all old rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from bailong.config import PIECE_WEIGHTS


def piece_weights(count: int, scheme: str) -> list[float]:
    """Weights of a token's ``count`` pieces, in order; they sum to 1.

    uniform: 1/n each; first: all weight on the first piece; last: all on the last piece.
    """
    if scheme == "uniform":
        return [1.0 / count] * count
    if scheme == "first":
        return [1.0] + [0.0] * (count - 1)
    if scheme == "last":
        return [0.0] * (count - 1) + [1.0]
    raise ValueError(f"piece weighting {scheme!r} is unknown; allowed: {list(PIECE_WEIGHTS)}")


def combination_matrix(
    pieces: Sequence[Sequence[int]], num_old: int, scheme: str = "uniform"
) -> torch.Tensor:
    """Sparse float64 ``(len(pieces), num_old)`` matrix of piece weights (COO, coalesced)."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, ids in enumerate(pieces):
        if not ids:
            continue
        rows.extend([i] * len(ids))
        cols.extend(ids)
        vals.extend(piece_weights(len(ids), scheme))
    if cols and max(cols) >= num_old:
        raise ValueError(f"piece id {max(cols)} is outside the original vocabulary of {num_old}")
    indices = torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1)
    values = torch.tensor(vals, dtype=torch.float64)
    return torch.sparse_coo_tensor(
        indices, values, (len(pieces), num_old), check_invariants=True
    ).coalesce()


def combine_rows(
    old: torch.Tensor, pieces: Sequence[Sequence[int]], scheme: str = "uniform"
) -> torch.Tensor:
    """One new row per entry of ``pieces``, in ``old``'s dtype and device."""
    weights = combination_matrix(pieces, old.shape[0], scheme).to(old.device)
    old64 = old.detach().to(torch.float64)
    new = torch.sparse.mm(weights, old64)
    empty = torch.tensor([not ids for ids in pieces], dtype=torch.bool, device=old.device)
    if bool(empty.any()):
        new[empty] = old64.mean(dim=0)
    return new.to(old.dtype)
