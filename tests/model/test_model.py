"""The real QLoRA path on CPU: bitsandbytes 4-bit linears + peft LoRA on a tiny Llama."""

from __future__ import annotations

from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch

from bailong.training.run import build_model, build_tokenizer
from tests.support.helpers import train_settings

LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def build(tmp_path: Path, overrides: list[str] = ()):
    cfg = train_settings(tmp_path, list(overrides))
    tok = build_tokenizer(cfg)
    return cfg, tok, build_model(cfg, tok)


def test_linears_are_4bit_norms_and_embeddings_are_not(tmp_path: Path) -> None:
    _, _, model = build(tmp_path)
    base = model.get_base_model()
    for layer in base.model.layers:
        for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            assert isinstance(getattr(layer.self_attn, name).base_layer, bnb.nn.Linear4bit)
        for name in ["gate_proj", "up_proj", "down_proj"]:
            assert isinstance(getattr(layer.mlp, name).base_layer, bnb.nn.Linear4bit)
    for name, param in model.named_parameters():
        if name.endswith("base_layer.weight"):
            assert param.dtype == torch.uint8, name  # packed NF4
        elif "norm" in name or "embed_tokens" in name or "lm_head" in name:
            assert param.dtype == torch.float32, name
    assert not any(
        isinstance(m, bnb.nn.Linear4bit)
        for n, m in model.named_modules()
        if "embed_tokens" in n or "lm_head" in n
    )


def expected_lora_params(cfg, hidden: int, inter: int, layers: int, extra: int = 0) -> int:
    r = cfg.lora.r
    attn = 4 * r * (hidden + hidden)
    mlp = 2 * r * (hidden + inter) + r * (inter + hidden)
    return layers * (attn + mlp) + extra


@pytest.mark.parametrize("embeddings", ["frozen", "full", "lora"])
def test_trainable_parameters_match_config(tmp_path: Path, embeddings: str) -> None:
    cfg, tok, model = build(tmp_path, [f"lora.embeddings={embeddings}", "lora=r16"])
    mc = cfg.model.config
    hidden, inter, layers = mc["hidden_size"], mc["intermediate_size"], mc["num_hidden_layers"]
    vocab = len(tok)
    extra = {
        "frozen": 0,
        "full": 2 * vocab * hidden,  # trainable copies of embed_tokens and lm_head
        "lora": cfg.lora.r * (vocab + hidden) * 2,  # A/B on both embedding and head
    }[embeddings]
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert sum(p.numel() for p in trainable.values()) == expected_lora_params(
        cfg, hidden, inter, layers, extra
    )
    for name in trainable:
        assert "lora_" in name or "modules_to_save" in name, name
    assert all(any(t in n for t in LINEARS) or "embed" in n or "lm_head" in n for n in trainable)


def test_full_embedding_copies_receive_gradients(tmp_path: Path) -> None:
    """peft #602: the trainable modules_to_save copies, not the originals, get the gradients."""
    _, tok, model = build(tmp_path)
    ids = torch.randint(0, len(tok), (2, 16))
    model(input_ids=ids, labels=ids).loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    embed = [g for n, g in grads.items() if "embed_tokens.modules_to_save" in n]
    head = [g for n, g in grads.items() if "lm_head.modules_to_save" in n]
    assert embed and head and embed[0].abs().sum() > 0 and head[0].abs().sum() > 0
    assert not model.get_base_model().config.tie_word_embeddings
