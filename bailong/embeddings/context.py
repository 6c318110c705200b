"""What an initializer sees and returns: old rows of both matrices in, new rows out.

Every initializer is a function ``InitContext -> NewRows`` registered by name in
``bailong.embeddings.INIT_METHODS``. It only computes rows; resizing the model and writing the
rows is done once, in ``bailong.embeddings.extend``. A future method (e.g. FOCUS, which needs
auxiliary static embeddings) adds its inputs here and registers itself, nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.snippets import Snippet, collect_snippets, fitting_documents


@dataclass
class InitContext:
    old_input: torch.Tensor  # (num_old, hidden) rows of embed_tokens before resizing
    old_output: torch.Tensor  # (num_old, hidden) rows of lm_head before resizing
    num_new: int  # rows to fill: new tokens plus padding rows
    # Original piece ids of each new row ([] for padding rows); None for methods that
    # declare they do not use pieces.
    pieces: list[list[int]] | None
    cfg: EmbeddingInitConfig
    initializer_range: float  # the model's init std (config.initializer_range)
    generator: torch.Generator  # seeded from cfg.seed
    # The model being extended (already resized), for methods that ask the base itself
    # (piece_logprob); rows >= the old vocabulary are not yet initialized.
    model: PreTrainedModel | None = None
    tokenizer: PreTrainedTokenizerBase | None = None  # the extended tokenizer
    _snippets: list[Snippet] | None = field(default=None, repr=False)

    def snippets(self) -> list[Snippet]:
        """Snippets of the fitting text (``cfg.fit``) around the new tokens, read once per
        extension however many parts of it (input rows, output rows) use them."""
        if self._snippets is None:
            assert self.tokenizer is not None and self.pieces is not None
            num_old = self.old_input.shape[0]
            self._snippets = collect_snippets(
                fitting_documents(self.cfg.fit),
                self.tokenizer,
                self.pieces,
                num_old,
                self.cfg.fit,
                self.cfg.seed,
            )
        return self._snippets


@dataclass
class NewRows:
    input: torch.Tensor  # (num_new, hidden) for embed_tokens
    output: torch.Tensor  # (num_new, hidden) for lm_head
