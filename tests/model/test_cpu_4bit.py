"""bitsandbytes' 4-bit CPU kernel: shapes it rejects are caught in validation, and training
never switches to it (see bailong/model/cpu_4bit.py). These tests hold on every CPU: the
validation is a config rule, and the gradient test compares two runs of the real 4-bit model
(on CPUs without AVX512-BF16 both runs take the same path anyway)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from bitsandbytes.nn import Linear4bit

from bailong.apps.probe_config import validate_probe_config
from bailong.core.checks import ConfigError
from bailong.training.run import build_model, build_tokenizer
from tests.support.helpers import compose_app, train_settings


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model.config.intermediate_size=344"], "model.config.intermediate_size=344 is invalid"),
        (["model.config.hidden_size=96"], "model.config.hidden_size=96 is invalid"),
        (["model.config.num_key_value_heads=1"], "(a projection 32 wide)"),
    ],
)
def test_4bit_cpu_run_with_a_width_the_kernel_rejects(tmp_path: Path, overrides, expected) -> None:
    with pytest.raises(ConfigError) as info:
        train_settings(tmp_path, ["trainer=cpu", *overrides])
    message = str(info.value)
    assert expected in message and "multiple of 64" in message
    print(message)  # what a user sees


def test_the_same_widths_are_fine_without_4bit(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, ["quantization=none", "model.config.intermediate_size=344"])
    assert cfg.model.config["intermediate_size"] == 344


def test_a_local_model_dir_is_checked_from_its_config_json(tmp_path: Path) -> None:
    model_dir = tmp_path / "base"
    model_dir.mkdir()
    config = {"hidden_size": 128, "intermediate_size": 352, "num_attention_heads": 4}
    (model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"config\.json: intermediate_size=352 is invalid"):
        train_settings(tmp_path, [f"model.name_or_path={model_dir}"])


def test_the_probe_checks_its_model_too(tmp_path: Path) -> None:
    overrides = ["quantization=nf4", "model.config.intermediate_size=344"]
    cfg = compose_app("probe_init", overrides, str(tmp_path))
    if torch.cuda.is_available():
        pytest.skip("the rule applies to 4-bit runs on CPU")
    with pytest.raises(ConfigError, match=r"model\.config\.intermediate_size=344"):
        validate_probe_config(cfg)


def test_validation_does_not_change_the_gradients_of_training(tmp_path: Path) -> None:
    """The step-0 validation (eval mode, no grad) before a training step leaves that step's
    gradients exactly as they are without it: every 4-bit layer keeps the portable kernel."""
    cfg = train_settings(tmp_path, ["data.block_size=32"])
    tokenizer = build_tokenizer(cfg)
    ids = torch.randint(3, len(tokenizer), (2, 32), generator=torch.Generator().manual_seed(0))

    def gradients(validate_first: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = build_model(cfg, tokenizer)
        layers = [m for m in model.modules() if isinstance(m, Linear4bit)]
        assert layers and not any(m.support_avx512bf16_for_cpu for m in layers)
        if validate_first:
            model.eval()
            with torch.no_grad():
                model(input_ids=ids)
        model.train()
        model(input_ids=ids, labels=ids).loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    plain, validated = gradients(False), gradients(True)
    assert plain.keys() == validated.keys() and any("layers.0." in n for n in plain)
    for name, grad in plain.items():
        torch.testing.assert_close(validated[name], grad, rtol=0, atol=0, msg=name)
