"""The initial-loss probe: how good is each initialization before any training?

Bailong's claim for zip-tie is a lower initial loss (and so fewer training steps). Measuring
that with training runs takes hours; this measures the starting point itself in seconds: for
each method, extend the base model, then score held-out target-language and English text —
mean loss per token (nats) and bits per character (the tokenizer-independent measure, so the
``original`` reference row, the unextended model on the original tokenizer, compares too).

Every token of a document is predicted once: documents are encoded with BOS and scored in
windows of ``block_size`` that overlap by one token (a window's first token is only context).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from bailong.core.progress import progress
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.resize import input_embedding_layer
from bailong.eval.perplexity import TextScore, score_documents

ORIGINAL = "original"  # the reference row: unextended model, original tokenizer


@dataclass
class ProbeRow:
    method: str
    target: TextScore
    english: TextScore

    def as_dict(self) -> dict[str, float | str | int]:
        out: dict[str, float | str | int] = {"method": self.method}
        for name, score in (("target", self.target), ("english", self.english)):
            metrics = score.as_dict()
            out[f"{name}_loss"] = metrics["nll_per_token"]
            out[f"{name}_bits_per_char"] = metrics["bits_per_char"]
            out[f"{name}_tokens"] = score.tokens
        return out


def probe_methods(
    model: PreTrainedModel,
    original_tokenizer: PreTrainedTokenizerBase,
    extended_tokenizer: PreTrainedTokenizerBase,
    arms: Sequence[tuple[str, EmbeddingInitConfig]],
    target: Sequence[str],
    english: Sequence[str],
    block_size: int,
) -> list[ProbeRow]:
    """The reference row, then one row per ``(name, embedding_init)`` arm; ``model`` is
    returned to its old size.

    The model is loaded once (a 4-bit 7B loads in minutes): each arm extends it, is scored,
    and the vocabulary is cut back to the original rows, which the extension never changes.
    Progress (``bailong.core.progress``) advances once per scored row, naming it.
    """
    num_old = input_embedding_layer(model).num_embeddings
    names = [ORIGINAL, *(name for name, _ in arms)]
    rows: list[ProbeRow] = []
    with progress("probe rows", len(names)) as bar:
        rows.append(
            ProbeRow(
                ORIGINAL,
                score_documents(model, original_tokenizer, target, block_size),
                score_documents(model, original_tokenizer, english, block_size),
            )
        )
        bar.update(1, ORIGINAL)
        for name, cfg in arms:
            extend_embeddings(model, extended_tokenizer, cfg)
            rows.append(
                ProbeRow(
                    name,
                    score_documents(model, extended_tokenizer, target, block_size),
                    score_documents(model, extended_tokenizer, english, block_size),
                )
            )
            model.resize_token_embeddings(num_old, mean_resizing=False)
            bar.update(1, name)
    assert input_embedding_layer(model).num_embeddings == num_old
    return rows
