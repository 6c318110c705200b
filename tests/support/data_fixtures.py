"""Fixtures shared by the data tests: the tokenizer the default run trains, data files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from bailong.data.config import DataConfig, SourceConfig
from bailong.training.run import build_tokenizer
from tests.support.helpers import train_settings


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> PreTrainedTokenizerBase:
    """The byte-fallback SentencePiece tokenizer the default train config builds."""
    return build_tokenizer(train_settings(tmp_path_factory.mktemp("tok") / "run"))


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def data_config(*sources: SourceConfig, **kwargs: object) -> DataConfig:
    return DataConfig(sources=list(sources), **kwargs)


def attention_check_model(vocab_size: int) -> LlamaForCausalLM:
    """A seeded 2-layer Llama (SDPA attention) to check which tokens a layout lets attend."""
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,  # multiples of 64, as every tiny model here
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(config).eval()
