"""Initializer names → functions; the config's ``embedding_init.method`` picks one by name.

Built from ``method_names.INIT_METHOD_TABLE``, the one list of methods (config validation
reads the names there without importing torch): each method is the function of its name in
the module its row names, imported here.

``uses_pieces`` tells the caller to compute each new token's original pieces (a SentencePiece
pass over the new tokens) only for the methods that read them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from bailong.embeddings.context import InitContext, NewRows
from bailong.embeddings.method_names import INIT_METHOD_TABLE


@dataclass(frozen=True)
class InitMethod:
    fn: Callable[[InitContext], NewRows]
    uses_pieces: bool


def _function(name: str, module: str) -> Callable[[InitContext], NewRows]:
    """``bailong.embeddings.<module>.<name>``; an AttributeError names a row without one."""
    return getattr(importlib.import_module(f"bailong.embeddings.{module}"), name)


INIT_METHODS: dict[str, InitMethod] = {
    name: InitMethod(_function(name, row.module), row.uses_pieces)
    for name, row in INIT_METHOD_TABLE.items()
}
