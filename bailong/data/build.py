"""The data module a config asks for: packed pretraining blocks or SFT conversations.

Its own module so that ``datamodule`` (pretraining) and ``sft`` (which builds on it) do not
import each other.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from bailong.data.config import DataConfig
from bailong.data.datamodule import CausalLMDataModule
from bailong.data.sft import SFTDataModule


def build_datamodule(
    cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, seed: int
) -> CausalLMDataModule:
    """The data module for ``cfg.kind``: packed pretraining blocks or SFT conversations."""
    if cfg.kind == "sft":
        return SFTDataModule(cfg, tokenizer, seed)
    return CausalLMDataModule(cfg, tokenizer, seed)
