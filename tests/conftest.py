"""Shared fixtures: tiny configs that run the real 4-bit + LoRA code on CPU, and shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bailong.core.shared_data import ENV_VAR, shared_path

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require_shared(relative: str) -> Path:
    """A file under the shared data folder, or skip the test saying what is missing."""
    path = shared_path(relative)
    if path is None:
        pytest.skip(f"shared data {relative!r} not found (set {ENV_VAR} to the shared/data folder)")
    return path


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory: pytest.TempPathFactory):
    """The session's cache (tests.support.helpers.cache_root) as the user's own cache, which
    reloading
    a run builds its base in (a run record never chooses it): nothing lands in ~/.cache."""
    previous = os.environ.get("BAILONG_CACHE")
    os.environ["BAILONG_CACHE"] = str(tmp_path_factory.getbasetemp().parent / "bailong-cache")
    yield
    if previous is None:
        os.environ.pop("BAILONG_CACHE", None)
    else:
        os.environ["BAILONG_CACHE"] = previous


@pytest.fixture
def llama2_tokenizer_model() -> Path:
    return require_shared("tokenizers/llama2/tokenizer.model")


@pytest.fixture(scope="module")
def trained_lm(tmp_path_factory: pytest.TempPathFactory):
    """(model, tokenizer) of the eval tests' trained run, loaded as bailong-eval loads it
    (tests/support/eval_fixtures.py trains it once per session); loaded once per test module."""
    from bailong.apps.reload import load_trained
    from tests.support.eval_fixtures import trained_run

    lm = load_trained(trained_run(tmp_path_factory.getbasetemp()))
    return lm.model, lm.tokenizer
