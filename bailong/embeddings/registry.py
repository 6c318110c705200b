"""Initializer names → functions; the config's ``embedding_init.method`` picks one by name.

``uses_pieces`` tells the caller to compute each new token's original pieces (a SentencePiece
pass over the new tokens) only for the methods that read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bailong.embeddings import baselines
from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.distill import token_distillation
from bailong.embeddings.piece_logprob import piece_logprob
from bailong.embeddings.zip_tie import zip_tie


@dataclass(frozen=True)
class InitMethod:
    fn: Callable[[InitContext], NewRows]
    uses_pieces: bool


INIT_METHODS: dict[str, InitMethod] = {
    "zip_tie": InitMethod(zip_tie, uses_pieces=True),
    "subword_mean": InitMethod(baselines.subword_mean, uses_pieces=True),
    "mean": InitMethod(baselines.mean, uses_pieces=False),
    "mean_cov": InitMethod(baselines.mean_cov, uses_pieces=False),
    "random": InitMethod(baselines.random, uses_pieces=False),
    "zeros": InitMethod(baselines.zeros, uses_pieces=False),
    "piece_logprob": InitMethod(piece_logprob, uses_pieces=True),
    "token_distillation": InitMethod(token_distillation, uses_pieces=True),
}
