"""Damaged cache entries (an empty tokenizer, a truncated model) are rebuilt, not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bailong.core.cache_entries import publish
from bailong.data.documents import bundled_files
from bailong.model.load import materialize_random_model
from bailong.tokenizer.load import load_tokenizer

TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
}


def test_a_truncated_cached_model_is_rebuilt(tmp_path: Path) -> None:
    built = materialize_random_model(TINY, 256, seed=3, cache_dir=tmp_path)
    weights = built / "model.safetensors"
    intact = weights.read_bytes()
    weights.write_bytes(intact[: len(intact) // 2])
    again = materialize_random_model(TINY, 256, seed=3, cache_dir=tmp_path)
    assert again == built and weights.read_bytes() == intact, "the same seeded weights, rebuilt"
    assert not list((tmp_path / "models").glob(".*")), "the damaged copy is gone"


def test_an_empty_cached_sample_tokenizer_is_retrained(tmp_path: Path) -> None:
    files = bundled_files()
    cache = tmp_path / "cache"
    first = load_tokenizer(None, text_files=files, sample_vocab_size=2000, cache_dir=cache)
    (cached,) = (cache / "tokenizers").glob("sample-*/tokenizer.model")
    cached.write_bytes(b"")
    second = load_tokenizer(None, text_files=files, sample_vocab_size=2000, cache_dir=cache)
    assert cached.stat().st_size > 0 and len(second) == len(first) == 2000
    text = "臺灣的夜市 and the night market"
    assert torch.equal(
        torch.tensor(second(text)["input_ids"]), torch.tensor(first(text)["input_ids"])
    )


def test_a_build_that_lost_the_race_keeps_the_winners_entry(tmp_path: Path) -> None:
    """Two jobs of a sweep build the same cache entry at once: the second one's rename fails
    on the first one's folder, which is kept when it is usable, and its own build is dropped;
    an unusable folder there is an error."""
    target = tmp_path / "entry"
    target.mkdir()
    (target / "tokenizer.json").write_text("{}")
    late = tmp_path / "late-build"
    late.mkdir()
    (late / "tokenizer.json").write_text('{"late": true}')
    publish(late, target, lambda folder: (folder / "tokenizer.json").is_file())
    assert (target / "tokenizer.json").read_text() == "{}" and not late.exists()
    (tmp_path / "again").mkdir()
    (tmp_path / "again" / "x").write_text("x")
    with pytest.raises(OSError):
        publish(tmp_path / "again", target, lambda folder: False)
