"""Vocabulary extension: resize embeddings to an extended tokenizer and initialize new rows.

Methods (``embedding_init.method``): ``zip_tie`` (Bailong's), the baselines
``subword_mean``, ``mean``, ``mean_cov``, ``random``, ``zeros``, and ``piece_logprob`` (ours).
Add a method by writing an ``InitContext -> NewRows`` function and registering it in
``registry.INIT_METHODS``.
"""

from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.extend import ExtensionReport, base_vocab_size, extend_embeddings
from bailong.embeddings.registry import INIT_METHODS, InitMethod

__all__ = [
    "INIT_METHODS",
    "ExtensionReport",
    "InitContext",
    "InitMethod",
    "NewRows",
    "base_vocab_size",
    "extend_embeddings",
]
