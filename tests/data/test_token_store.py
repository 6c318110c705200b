"""The token store: built once with the tokenizer's exact ids, reused, rebuilt when damaged;
blocks split disjointly across ranks; document boundaries masked on request; exact resume."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import PreTrainedTokenizerBase

from bailong.data.config import DataConfig, SourceConfig
from bailong.data.datamodule import CausalLMDataModule, pretrain_blocks
from bailong.data.pack import wrap_document
from bailong.data.sources import Source, SourceStats, documents
from bailong.data.token_store import token_store
from tests.support.data_fixtures import attention_check_model, tokenizer, write_jsonl

__all__ = ["tokenizer"]

WORDS = ["river", "mountain", "山", "水", "雲", "cloud", "風", "wind", "海", "sea", "光", "light"]


def corpus(path: Path, n_docs: int, seed: int) -> Path:
    rng = random.Random(seed)
    rows = [{"text": " ".join(rng.choices(WORDS, k=rng.randint(3, 60)))} for _ in range(n_docs)]
    return write_jsonl(path, rows)


@pytest.fixture
def source(tmp_path: Path) -> SourceConfig:
    return SourceConfig(name="words", path=str(corpus(tmp_path / "w.jsonl", 300, 1)))


def config(tmp_path: Path, *sources: SourceConfig, **kwargs: object) -> DataConfig:
    return DataConfig(sources=list(sources), store_dir=str(tmp_path / "stores"), **kwargs)


def expected_stream(cfg: DataConfig, tokenizer: PreTrainedTokenizerBase, split: str) -> list[int]:
    """What the store must hold: the wrapped ids the HF tokenizer gives, document by document."""
    src = Source(cfg.sources[0], [cfg.sources[0].path])
    texts = [t for _, t in documents(src, cfg, SourceStats(), split, 3)]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return [t for doc in ids for t in wrap_document(doc, bos, eos)]


@pytest.mark.parametrize("workers", [1, 2])
def test_store_holds_the_tokenizers_ids_and_is_reused(
    tmp_path: Path, source: SourceConfig, tokenizer: PreTrainedTokenizerBase, workers: int
) -> None:
    """In this process or in a pool of 2 tokenizer processes: the same ids, in order."""
    cfg = config(tmp_path, source, store_workers=workers)
    src = Source(source, [source.path])
    store = token_store(src, cfg, tokenizer, seed=3)
    assert not store.reused and store.meta["complete"]
    for split in ("train", "val"):
        stream = store.streams[split]
        assert stream.window(0, stream.tokens).tolist() == expected_stream(cfg, tokenizer, split)
        assert stream.chunks[0].dtype == np.uint16  # 2,000 ids fit in 16 bits
    again = token_store(src, cfg, tokenizer, seed=3)
    assert again.reused and again.path == store.path
    assert again.meta["built_at"] == store.meta["built_at"]
    # another seed is another split, so another store; the block size is not part of the key
    assert token_store(src, cfg, tokenizer, seed=4).path != store.path
    bigger = config(tmp_path, source, store_workers=workers, block_size=512)
    assert token_store(src, bigger, tokenizer, seed=3).path == store.path


def test_an_edited_source_file_gets_a_new_store(
    tmp_path: Path, source: SourceConfig, tokenizer: PreTrainedTokenizerBase
) -> None:
    cfg = config(tmp_path, source)
    src = Source(source, [source.path])
    first = token_store(src, cfg, tokenizer, seed=3)
    corpus(Path(source.path), 301, 1)  # one more document
    second = token_store(src, cfg, tokenizer, seed=3)
    assert second.path != first.path and not second.reused
    assert second.streams["train"].docs + second.streams["val"].docs == 301


@pytest.mark.parametrize("damage", ["truncate", "empty_meta", "missing_val"])
def test_a_damaged_store_is_rebuilt_with_a_warning_naming_it(
    tmp_path: Path,
    source: SourceConfig,
    tokenizer: PreTrainedTokenizerBase,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    cfg = config(tmp_path, source)
    src = Source(source, [source.path])
    store = token_store(src, cfg, tokenizer, seed=3)
    good = store.streams["train"].window(0, store.tokens("train")).tolist()
    arrow = store.path / "train.arrow"
    if damage == "truncate":
        arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    elif damage == "empty_meta":
        (store.path / "meta.json").write_text("")
    else:
        (store.path / "val.arrow").unlink()
    with caplog.at_level(logging.WARNING):
        rebuilt = token_store(src, cfg, tokenizer, seed=3)
    assert str(store.path) in caplog.text and "damaged" in caplog.text
    assert not rebuilt.reused and rebuilt.path == store.path
    assert rebuilt.streams["train"].window(0, rebuilt.tokens("train")).tolist() == good


def test_blocks_span_documents_and_re_read_a_small_source(
    tmp_path: Path, source: SourceConfig, tokenizer: PreTrainedTokenizerBase
) -> None:
    """Blocks are consecutive windows of the stream; past its end they start a new pass."""
    cfg = config(tmp_path, source, block_size=48)
    blocks, report = pretrain_blocks(cfg, tokenizer, seed=3, split="train")
    stream = expected_stream(cfg, tokenizer, "train")
    assert len(blocks) == len(stream) // 48  # one pass, ragged tail dropped
    joined = [t for i in range(len(blocks)) for t in blocks[i]["input_ids"].tolist()]
    assert joined == stream[: len(joined)]
    n = 3 * len(blocks)
    cycled, report = pretrain_blocks(
        config(tmp_path, source, block_size=48, train_items=n), tokenizer, 3, "train"
    )
    assert len(cycled) == n and report.mix.passes == [3]
    joined = [t for i in range(n) for t in cycled[i]["input_ids"].tolist()]
    assert joined == (stream * 3)[: n * 48]


def test_mask_restarts_position_ids_at_each_document_and_attend_does_not(
    tmp_path: Path, source: SourceConfig, tokenizer: PreTrainedTokenizerBase
) -> None:
    bos = tokenizer.bos_token_id
    masked = CausalLMDataModule(
        config(tmp_path, source, block_size=64, document_boundaries="mask"), tokenizer, seed=3
    )
    masked.setup()
    attend = CausalLMDataModule(config(tmp_path, source, block_size=64), tokenizer, seed=3)
    attend.setup()
    inside = 0
    for i in range(len(masked.train_set)):
        row, plain = masked.train_set[i], attend.train_set[i]
        assert torch.equal(row["input_ids"], plain["input_ids"])
        assert "position_ids" not in plain and plain["attention_mask"].all()
        starts = (row["input_ids"] == bos).nonzero().flatten().tolist()
        expected = torch.arange(64)
        for s in starts:
            expected[s:] = torch.arange(64 - s)
        assert torch.equal(row["position_ids"], expected), i
        inside += sum(s > 0 for s in starts)
    assert inside > 10, "fixture: documents must start inside blocks"

    # what the model sees: with mask, a document's logits do not depend on the one before it
    batch = next(iter(masked.train_dataloader()))
    assert batch["use_cache"] is False and "attention_mask" not in batch
    item = next(
        r for r in map(masked.train_set.__getitem__, range(99)) if bos in r["input_ids"][1:]
    )
    start = int((item["input_ids"][1:] == bos).nonzero()[0]) + 1
    model = attention_check_model(len(tokenizer))
    collate = masked.collate_fn
    with torch.no_grad():
        packed = model(**{k: v for k, v in collate([item]).items() if k != "labels"}).logits[0]
        alone = model(input_ids=item["input_ids"][None, start:]).logits[0]
        torch.testing.assert_close(packed[start:], alone)
        crossing = model(input_ids=item["input_ids"][None]).logits[0]
        assert not torch.allclose(crossing[start:], alone, atol=1e-4)


def test_two_ranks_read_disjoint_blocks(
    tmp_path: Path, source: SourceConfig, tokenizer: PreTrainedTokenizerBase
) -> None:
    cfg = config(tmp_path, source, block_size=16, batch_size=4)
    seen: dict[int, list[int]] = {}
    for rank in (0, 1):
        module = CausalLMDataModule(cfg, tokenizer, seed=3)
        module.setup()
        inner, read = module.train_set, []
        module.train_set = Recording(inner, read)
        module.trainer = SimpleNamespace(world_size=2, global_rank=rank)  # type: ignore[assignment]
        batches = list(module.train_dataloader())
        seen[rank] = read
        served = torch.cat([b["input_ids"] for b in batches])
        assert torch.equal(served, torch.stack([inner[i]["input_ids"] for i in read]))
    total = len(CausalLMDataModule(cfg, tokenizer, 3).build_split("train"))
    assert not set(seen[0]) & set(seen[1]), "both ranks read the same block"
    assert len(seen[0]) == len(seen[1]) >= total // 2 - 4


class Recording(torch.utils.data.Dataset):
    """A dataset that records which indices were read."""

    def __init__(self, inner: torch.utils.data.Dataset, read: list[int]) -> None:
        self.inner, self.read = inner, read

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        self.read.append(index)
        return self.inner[index]


@pytest.mark.slow
def test_sigkill_mid_epoch_on_a_store_backed_mix_resumes_bit_exactly(tmp_path: Path) -> None:
    """Two sources mixed 25/75 with re-reading, documents masked: kill after the first
    checkpoint, resume from it (reusing the stores), same losses as the uninterrupted run."""
    from tests.training.test_faults import (
        finish,
        kill_after_first_checkpoint,
        last_loss_per_step,
        train_cli,
    )
    from tests.training.test_train import read_metrics

    extra = ["data=sample_en_heavy", "data.train_items=120", "data.document_boundaries=mask"]
    full_dir, killed_dir = tmp_path / "full", tmp_path / "killed"
    finish(train_cli(full_dir, extra, tmp_path), full_dir)
    step = kill_after_first_checkpoint(train_cli(killed_dir, extra, tmp_path), killed_dir)
    finish(train_cli(killed_dir, [*extra, "ckpt_path=last"], tmp_path), killed_dir)
    log = killed_dir.with_suffix(".log").read_text()
    assert "token store zh_tw reused" in log and "token store en reused" in log
    assert "building" not in log
    expected, got = last_loss_per_step(full_dir), last_loss_per_step(killed_dir)
    assert sorted(expected) == list(range(10))
    assert {int(r["epoch"]) for r in read_metrics(full_dir)} == {0}, "the kill was mid-epoch"
    for s in range(step, 10):
        assert got[s] == expected[s], f"step {s}: resumed {got[s]} vs uninterrupted {expected[s]}"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "data.document_boundaries=both",
            r"data\.document_boundaries='both'.*\['attend', 'mask'\]",
        ),
        ("data.store_workers=0", r"data\.store_workers=0 .*positive integer or null"),
    ],
)
def test_bad_store_settings_are_named(tmp_path: Path, override: str, message: str) -> None:
    from bailong.core.checks import ConfigError
    from tests.support.helpers import train_settings

    with pytest.raises(ConfigError, match=message):
        train_settings(tmp_path, [override])
