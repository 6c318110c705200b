"""Bad config values fail before anything loads, naming the key, the value and what is allowed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bailong.core.checks import ConfigError
from bailong.model.load import materialize_random_model
from bailong.training.run import build_model, build_tokenizer
from tests.support.helpers import cache_root, train_settings

# (override, text the error must contain: the key and the bad value)
BAD_INPUTS = [
    ("lora.r=0", "lora.r=0"),
    ("lora.r=-4", "lora.r=-4"),
    ("lora.alpha=0", "lora.alpha=0"),
    ("lora.dropout=1.0", "lora.dropout=1.0"),
    ("lora.dropout=-0.1", "lora.dropout=-0.1"),
    ("lora.bias=boft_only", "lora.bias='boft_only'"),
    ("lora.r=abc", "lora.r"),
    ("lora.embeddings=sometimes", "lora.embeddings"),
    ("+lora.rank=8", "lora.rank"),
    ("data.files=[/no/such/corpus.txt]", "/no/such/corpus.txt"),
    ("data.files=[]", "data.files"),
    ("data.block_size=4096", "max_position_embeddings=512"),
    ("data.block_size=1", "data.block_size=1"),
    ("data.batch_size=0", "data.batch_size=0"),
    ("data.val_fraction=0", "data.val_fraction=0"),
    ("model.dtype=float8", "model.dtype='float8'"),
    ("quantization.quant_type=int3", "quantization.quant_type='int3'"),
    ("quantization.compute_dtype=float16", "quantization.compute_dtype='float16'"),
    ("trainer=gpu", "trainer.accelerator='gpu'"),
    ("optim.name=paged_adamw", "optim.name='paged_adamw'"),
    ("optim.name=sgd", "optim.name='sgd'"),
    ("optim.lr=0", "optim.lr=0"),
    ("optim.warmup_steps=-1", "optim.warmup_steps=-1"),
    ("optim.min_lr_ratio=2", "optim.min_lr_ratio=2"),
    ("optim.schedule=exponential", "optim.schedule"),
    ("optim.on_nonfinite_loss=ignore", "optim.on_nonfinite_loss"),
    ("ckpt_path=/no/such/last.ckpt", "/no/such/last.ckpt"),
    ("callbacks.progress_bar=fancy", "callbacks.progress_bar='fancy'"),
    ("callbacks.checkpoint.every_n_train_steps=0", "every_n_train_steps=0"),
    ("tokenizer.sample_vocab_size=100", "tokenizer.sample_vocab_size=100"),
    ("model.trust_remote_code=true", "model.trust_remote_code"),
]


@pytest.mark.parametrize(("override", "expected"), BAD_INPUTS)
def test_bad_value_is_rejected_with_its_name(tmp_path: Path, override: str, expected: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        train_settings(tmp_path, [override])
    assert expected in str(info.value)
    assert time.perf_counter() - start < 10, "validation must not load models or data"


def test_tokenizer_larger_than_model_vocab_without_extension(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path)
    small = materialize_random_model(cfg.model.config, 320, 0, cache_root(tmp_path))
    unextended = ["tokenizer=sample_bpe", "embedding_init=none"]
    cfg = train_settings(tmp_path, [f"model.name_or_path={small}", *unextended])
    tokenizer = build_tokenizer(cfg)
    with pytest.raises(ConfigError, match=f"tokenizer has {len(tokenizer)} tokens .* 320 rows"):
        build_model(cfg, tokenizer)
