"""Token-share mixing: realized shares match the spec, seeds reproduce, streams stay lazy.

Pretraining blocks come from the token stores (under this test's BAILONG_CACHE); the SFT
mixer (``TokenMixer``) streams items.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch
from transformers import PreTrainedTokenizerBase

from bailong.data.config import DataConfig, SourceConfig
from bailong.data.datamodule import CausalLMDataModule, pretrain_blocks
from bailong.data.mix import TokenMixer
from bailong.data.pack import pack_stream
from bailong.data.sources import Source, SourceStats, documents
from tests.support.data_fixtures import tokenizer, write_jsonl

__all__ = ["tokenizer"]

WORDS = ["river", "mountain", "山", "水", "雲", "cloud", "風", "wind", "海", "sea", "光", "light"]


def corpus(path: Path, n_docs: int, mean_words: int, seed: int) -> Path:
    """Documents of very different lengths per source, so doc shares ≠ token shares."""
    rng = random.Random(seed)
    rows = [
        {"text": " ".join(rng.choices(WORDS, k=max(1, int(rng.expovariate(1 / mean_words)))))}
        for _ in range(n_docs)
    ]
    return write_jsonl(path, rows)


@pytest.fixture(autouse=True)
def own_store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "cache"))


def block_list(blocks) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return [blocks[i]["input_ids"].tolist() for i in range(len(blocks))]


@pytest.fixture
def three_sources(tmp_path: Path) -> list[SourceConfig]:
    return [
        SourceConfig(name="long", path=str(corpus(tmp_path / "a.jsonl", 60, 300, 1)), weight=0.5),
        SourceConfig(name="short", path=str(corpus(tmp_path / "b.jsonl", 400, 8, 2)), weight=0.3),
        SourceConfig(name="mid", path=str(corpus(tmp_path / "c.jsonl", 100, 40, 3)), weight=0.2),
    ]


def test_realized_token_shares_within_half_a_point(
    three_sources: list[SourceConfig], tokenizer: PreTrainedTokenizerBase
) -> None:
    cfg = DataConfig(sources=three_sources, block_size=32, train_items=3000)
    blocks, report = pretrain_blocks(cfg, tokenizer, seed=7, split="train")
    assert len(blocks) == 3000 and blocks[2999]["input_ids"].shape == (32,)
    assert sum(report.mix.tokens) == 3000 * 32  # shares are measured in the blocks themselves
    # ... and counted from the blocks the dataset really serves
    served = [blocks.locate(i)[0] for i in range(len(blocks))]
    for i, row in enumerate(report.mix.rows()):
        assert abs(row["realized"] - row["target"]) < 0.005, row
        assert served.count(i) * 32 == row["tokens"]
    # every stretch of the (unshuffled) order holds the shares too: the first 100 blocks
    assert [served[:100].count(i) for i in range(3)] == [50, 30, 20]
    # the short source had to be re-read to keep its share
    passes = dict(zip(report.mix.names, report.mix.passes, strict=True))
    assert passes["short"] > 1


def test_same_seed_same_stream_other_seed_other_stream(
    three_sources: list[SourceConfig], tokenizer: PreTrainedTokenizerBase
) -> None:
    cfg = DataConfig(sources=three_sources, block_size=32, train_items=200)
    a, _ = pretrain_blocks(cfg, tokenizer, seed=1, split="train")
    b, _ = pretrain_blocks(cfg, tokenizer, seed=1, split="train")
    c, _ = pretrain_blocks(cfg, tokenizer, seed=2, split="train")
    assert block_list(a) == block_list(b)
    assert block_list(a) != block_list(c)


def test_split_is_a_seeded_partition_of_the_documents(three_sources: list[SourceConfig]) -> None:
    src = Source(three_sources[1], [three_sources[1].path])
    cfg = DataConfig(sources=[three_sources[1]], val_fraction=0.2)

    def texts(split: str, seed: int) -> list[str]:
        return [t for _, t in documents(src, cfg, SourceStats(), split, seed)]

    train, val, every = texts("train", 3), texts("val", 3), texts("all", 3)
    assert sorted(train + val) == sorted(every) and len(train) + len(val) == len(every)
    assert 0.1 < len(val) / len(every) < 0.3
    assert texts("val", 3) == val and texts("val", 4) != val


def test_mixer_streams_lazily_from_endless_sources() -> None:
    """Endless generators work: only what the packer asks for is ever read."""
    pulled = [0, 0]

    def endless(i: int, size: int):
        def gen():
            while True:
                pulled[i] += 1
                yield [i] * size

        return gen

    mixer = TokenMixer(["a", "b"], [endless(0, 5), endless(1, 50)], [0.5, 0.5], len, 0, True)
    blocks, counts = pack_stream(mixer, 10, 2, max_blocks=500)
    assert blocks.shape == (500, 10) and sum(pulled) < 2000
    assert abs(counts[0] / sum(counts) - 0.5) < 0.02


def test_mixer_without_recycling_stops_at_the_first_exhausted_source() -> None:
    mixer = TokenMixer(
        ["a", "b"], [lambda: iter([[1]] * 10), lambda: iter([[2]] * 1000)], [1, 1], len, 0, False
    )
    items = list(mixer)
    assert mixer.stats.items[0] == 10 and mixer.stats.passes == [1, 1]
    assert len(items) < 40


def test_empty_source_is_named() -> None:
    mixer = TokenMixer(
        ["a", "empty"], [lambda: iter([[1]]), lambda: iter([])], [1, 1], len, 0, True
    )
    with pytest.raises(ValueError, match=r"\['empty'\] yield no items"):
        list(itertools.islice(mixer, 5))


def test_train_loader_resumes_mid_epoch_exactly(
    three_sources: list[SourceConfig], tokenizer: PreTrainedTokenizerBase
) -> None:
    """The StatefulDataLoader property training relies on: state_dict → same next batches."""
    cfg = DataConfig(sources=three_sources, block_size=16, train_items=64, batch_size=4)
    module = CausalLMDataModule(cfg, tokenizer, seed=5)
    module.setup()
    loader = module.train_dataloader()
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = loader.state_dict()
    expected = [b["input_ids"] for b in it]
    resumed = module.train_dataloader()
    resumed.load_state_dict(state)
    got = [b["input_ids"] for b in resumed]
    assert len(got) == len(expected) == 13
    assert all(torch.equal(x, y) for x, y in zip(got, expected, strict=True))
