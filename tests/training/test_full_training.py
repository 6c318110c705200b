"""lora=none: every weight of an unquantized model trains, and the run saves a plain HF model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from bailong.core.checks import ConfigError
from bailong.model.load import load_base_model
from bailong.training.run import FULL_MODEL_DIR, RunContext, build_model, build_tokenizer, train
from tests.support.helpers import cache_root, train_settings

FULL = [
    "lora=none",
    "quantization=none",
    "trainer.max_steps=4",
    "trainer.val_check_interval=2",
    "callbacks.checkpoint.enabled=false",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=4",
]


def test_full_training_needs_an_unquantized_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lora\.enabled=False.*quantization=none"):
        train_settings(tmp_path, ["lora=none", "quantization=nf4_fp32"])


def test_every_weight_trains_and_the_saved_model_reloads(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, FULL)
    tokenizer = build_tokenizer(cfg)
    before = {
        n: p.detach().clone()
        for n, p in load_base_model(
            cfg.model, cfg.quantization, len(tokenizer), cache_root(tmp_path)
        ).named_parameters()
    }
    model = build_model(cfg, tokenizer)
    assert all(p.requires_grad for p in model.parameters())
    assert set(dict(model.named_parameters())) == set(before), "no adapter modules added"

    train(cfg, RunContext(output_dir=tmp_path))
    saved = tmp_path / FULL_MODEL_DIR
    assert not (tmp_path / "adapter").exists()
    trained = AutoModelForCausalLM.from_pretrained(saved)
    unchanged = [n for n, p in trained.named_parameters() if torch.equal(p, before[n])]
    assert not unchanged, f"these weights did not train: {unchanged}"
    assert len(AutoTokenizer.from_pretrained(saved)) == len(tokenizer)

    # model.name_or_path loads it as the base of a next (e.g. QLoRA) run, 4-bit included
    next_cfg = train_settings(  # its rows are trained already: no second extension
        tmp_path, [f"model.name_or_path={saved}", "lora=r8", "embedding_init=none"]
    )
    base = load_base_model(next_cfg.model, next_cfg.quantization, len(tokenizer), tmp_path)
    assert base.is_loaded_in_4bit
    assert torch.equal(base.get_input_embeddings().weight, trained.get_input_embeddings().weight)
