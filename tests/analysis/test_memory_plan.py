"""The memory plan's parameter arithmetic against a real tiny Llama with peft LoRA."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from peft import get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from bailong.analysis.memory_plan import LLAMA2_7B, LlamaShape, QLoraPlan
from bailong.model.architecture import describe
from bailong.model.config import EmbeddingMode, LoraConfig
from bailong.model.lora import peft_config

SHAPE = LlamaShape(
    vocab_size=300,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,  # grouped-query: k/v narrower than q
)


@pytest.mark.parametrize("embeddings", [EmbeddingMode.lora, EmbeddingMode.frozen])
def test_counts_match_a_real_peft_model(embeddings: EmbeddingMode) -> None:
    torch.manual_seed(0)
    fields = {f.name: getattr(SHAPE, f.name) for f in dataclasses.fields(SHAPE)}
    base = LlamaForCausalLM(LlamaConfig(**fields, tie_word_embeddings=False))
    plan = QLoraPlan(SHAPE, lora_rank=4, lora_on_embeddings=embeddings is EmbeddingMode.lora)
    assert plan.base_params() == sum(p.numel() for p in base.parameters())
    cfg = LoraConfig(r=4, alpha=8, dropout=0.0, embeddings=embeddings)
    model = get_peft_model(base, peft_config(cfg, describe(base)))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert plan.lora_params() == trainable


def test_paper_config_trains_4_6_percent() -> None:
    plan = QLoraPlan(dataclasses.replace(LLAMA2_7B, vocab_size=59_241), lora_rank=128)
    assert plan.trainable_fraction() == pytest.approx(0.046, abs=0.0005)
    nf4, adapters, grads, adam = (
        list(plan.components().values())[:1] + list(plan.components().values())[2:5]
    )
    assert 0.5 < nf4 / plan.linear_params() < 0.52  # a bit over half a byte per 4-bit weight
    assert grads + adam == 3 * adapters  # fp32 gradient + two fp32 moments per fp32 adapter
