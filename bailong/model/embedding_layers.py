"""Save a peft adapter whose base had its vocabulary extended.

The new rows exist only in memory (the base checkpoint on disk has the old vocabulary), so the
adapter must carry them. With ``lora.embeddings=full`` peft's ``modules_to_save`` copies of
``embed_tokens``/``lm_head`` are saved anyway (they start as the extended matrices). With
``frozen`` or ``lora`` embeddings the base matrices themselves must be saved
(``save_embedding_layers=True``). Reloading (``bailong.apps.reload``) resizes the original
base to the saved size first, then lets peft load the rows (peft #1300, #1457).
"""

from __future__ import annotations

from typing import Literal

from bailong.embeddings.config import EmbeddingInitConfig
from bailong.model.config import EmbeddingMode


def save_embedding_layers(
    init_cfg: EmbeddingInitConfig, mode: EmbeddingMode
) -> bool | Literal["auto"]:
    """The ``save_embedding_layers`` argument of ``PeftModel.save_pretrained`` for this run.

    ``full``: False (the modules_to_save copies already hold every row; saving the base matrices
    too would store them twice); ``new_rows``: False (the adapter's trainable tokens are the new
    rows, the old ones are the base's). Otherwise True when the vocabulary was extended, else
    peft's default.
    """
    if init_cfg.method == "none":
        return "auto"
    return mode not in (EmbeddingMode.full, EmbeddingMode.new_rows)
