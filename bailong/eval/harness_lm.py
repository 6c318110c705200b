"""The harness's Hugging Face model with bailong's one tokenization rule: BOS first.

bailong trains and scores every sequence as BOS + text (the data pipeline, the perplexity
scorer and the chat format all prepend ``bos_token_id`` themselves). ``HFLM`` instead relies on
the tokenizer to add special tokens, and a tokenizer saved without its ``tokenizer_config.json``
(the reference base ships only ``tokenizer.model``) adds none, so the model would be scored on
text without the token it always saw first. Only ``tok_encode`` changes; everything else is
the harness's own.
"""

from __future__ import annotations

from typing import Any

from lm_eval.models.huggingface import HFLM


class BosFirstHFLM(HFLM):
    def tok_encode(
        self,
        string: str,
        add_special_tokens: bool | None = None,
        left_truncate_len: int | None = None,
        **kwargs: Any,
    ) -> list[int]:
        """``string``'s ids, after BOS unless ``add_special_tokens`` is False (the harness
        asks for bare ids where it adds its own prefix token)."""
        ids = list(self.tokenizer.encode(string, add_special_tokens=False))
        bos = self.tokenizer.bos_token_id
        if add_special_tokens is not False and bos is not None:
            ids = [bos, *ids]
        return ids[-left_truncate_len:] if left_truncate_len else ids
