"""Shared fixtures: tiny configs that run the real 4-bit + LoRA code on CPU, and shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bailong.shared_data import ENV_VAR, shared_path

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def require_shared(relative: str) -> Path:
    """A file under the shared data folder, or skip the test saying what is missing."""
    path = shared_path(relative)
    if path is None:
        pytest.skip(f"shared data {relative!r} not found (set {ENV_VAR} to the shared/data folder)")
    return path


@pytest.fixture
def llama2_tokenizer_model() -> Path:
    return require_shared("tokenizers/llama2/tokenizer.model")
