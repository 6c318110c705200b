"""Up-front checks report together, before anything loads, without hub retries (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bailong.core.checks import ConfigError
from bailong.core.paths import looks_local
from bailong.training import preflight
from bailong.training.preflight import cuda_available, hub_lookup, source_problems
from tests.support.helpers import train_settings

no_gpu = pytest.mark.skipif(cuda_available(), reason="checks what a machine without a GPU says")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the hub is asked anything."""

    def refuse(repo_id: str) -> str:
        raise AssertionError(f"the hub was asked about {repo_id}")

    monkeypatch.setattr(preflight, "hub_lookup", refuse)


@no_gpu
def test_paper_config_without_gpu_or_weights_reports_every_problem_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    with pytest.raises(ConfigError) as info:
        train_settings(tmp_path, ["experiment=bailong_7b_pretrain"])
    message = str(info.value)
    for expected in (
        "trainer.accelerator='gpu' is invalid: no CUDA GPU is visible",
        "optim.name='paged_adamw' is invalid: paged optimizers need a CUDA GPU",
        "model.name_or_path='meta-llama/Llama-2-7b-hf' is invalid: not a local directory, and "
        "not in the Hugging Face cache while HF_HUB_OFFLINE is set",
    ):
        assert expected in message, message
    assert message.startswith(f"{message.splitlines()[0]}") and " problems:" in message


@no_gpu
def test_bf16_autocast_on_cpu_is_rejected_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"trainer.precision='bf16-mixed' is invalid.*32-true"):
        train_settings(tmp_path, ["trainer=cpu", "trainer.precision=bf16-mixed"])


def test_missing_local_model_dir_fails_before_loading_and_asks_no_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports").mkdir()  # bailong-export wrote here before, so this is a path
    for name in ("exports/bailong_7b", "./exports/bailong_7b", str(tmp_path / "nope"), "a/b/c"):
        with pytest.raises(ConfigError, match="no such file or directory"):
            train_settings(tmp_path, [f"model.name_or_path={name}", "trainer=cpu"])


def test_hub_id_offline_and_uncached_asks_no_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    problems = source_problems("model.name_or_path", "exports/bailong_7b", "config.json")
    assert problems == [
        "model.name_or_path='exports/bailong_7b' is invalid: not a local directory, and not in "
        "the Hugging Face cache while HF_HUB_OFFLINE is set"
    ]


def test_a_model_that_is_neither_local_nor_on_the_hub_is_named(tmp_path: Path) -> None:
    """One bounded hub request: 'not found' with a network, 'could not be reached' without."""
    reason = hub_lookup("bailong-no-such-user-0c1f/no-such-model")
    assert reason is not None
    assert "no such model on the Hugging Face hub" in reason or "could not be reached" in reason


def test_local_looking_names() -> None:
    assert looks_local("/models/llama") and looks_local("./x/y") and looks_local("~/m")
    assert looks_local("a/b/c") and looks_local("exports/bailong_7b/")
    assert not looks_local("meta-llama/Llama-2-7b-hf") and not looks_local("gpt2")


def test_a_name_that_is_neither_path_nor_hub_id_is_named(no_network: None) -> None:
    (problem,) = source_problems("model.name_or_path", "not a repo", "config.json")
    assert problem.startswith("model.name_or_path='not a repo' is invalid: no such file")


def test_existing_local_model_passes(tmp_path: Path) -> None:
    assert source_problems("model.name_or_path", str(tmp_path), "config.json") == []
