"""The Liger Kernel switch (``model.liger_kernel``): off by default and on CPU, refused early
and by name without CUDA, refused with LoRA on the head (its fused loss would skip it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bailong.core.checks import ConfigError
from bailong.model.fused_kernels import apply_liger
from bailong.training.run import build_model, build_tokenizer
from tests.support.helpers import train_settings


def test_off_by_default_and_the_cpu_model_is_untouched(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path)
    assert cfg.model.liger_kernel is False
    model = build_model(cfg, build_tokenizer(cfg))
    patched = [type(m).__name__ for m in model.modules() if "Liger" in type(m).__name__]
    assert not patched
    base = model.get_base_model()
    assert "liger" not in type(base).forward.__module__
    assert "liger" not in type(base.model.layers[0].mlp).forward.__module__


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_asking_for_it_without_cuda_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.liger_kernel=True is invalid: .*CUDA GPU"):
        train_settings(tmp_path, ["model.liger_kernel=true"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_the_api_refuses_it_without_cuda(tmp_path: Path) -> None:
    model = build_model(cfg := train_settings(tmp_path), build_tokenizer(cfg)).get_base_model()
    with pytest.raises(ValueError, match=r"model\.liger_kernel=true: .*CUDA GPU"):
        apply_liger(model)


def test_lora_on_the_head_is_refused_with_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.liger_kernel=True is invalid: .*lm_head"):
        train_settings(tmp_path, ["model.liger_kernel=true", "lora.embeddings=lora"])
