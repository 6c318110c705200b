"""The initializers, each once: its name, the module defining it, whether it reads pieces.

Config validation takes the names from here without importing any method (their modules
import torch: seconds); ``bailong.embeddings.registry`` builds its name → function map from
this same table, importing each method's module by the name written here, so a name cannot
be in one place and missing from the other. A leaf: it imports nothing of bailong.

Add a method by writing ``<name>(ctx: InitContext) -> NewRows`` (``context.py``) in a module
of ``bailong/embeddings/`` and adding its row here.
"""

from typing import NamedTuple


class MethodRow(NamedTuple):
    module: str  # bailong.embeddings.<module> defines a function named as the method
    uses_pieces: bool  # it reads each new token's original pieces (a SentencePiece pass)


INIT_METHOD_TABLE: dict[str, MethodRow] = {
    "zip_tie": MethodRow("zip_tie", uses_pieces=True),
    "subword_mean": MethodRow("baselines", uses_pieces=True),
    "mean": MethodRow("baselines", uses_pieces=False),
    "mean_cov": MethodRow("baselines", uses_pieces=False),
    "random": MethodRow("baselines", uses_pieces=False),
    "zeros": MethodRow("baselines", uses_pieces=False),
    "piece_logprob": MethodRow("piece_logprob", uses_pieces=True),
    "token_distillation": MethodRow("distill", uses_pieces=True),
}
INIT_METHOD_NAMES = tuple(INIT_METHOD_TABLE)
