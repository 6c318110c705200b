"""callbacks.heldout_bpc: bits per character of the validation documents, logged from step 0."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from bailong.core.checks import ConfigError
from bailong.data.sources import SourceStats, configured_sources, documents
from bailong.eval.perplexity import TextScore, score_documents
from bailong.training.heldout_bpc import heldout_texts
from bailong.training.run import RunContext, build_model, build_tokenizer, train
from tests.support.helpers import train_settings

RUN = [
    "trainer.max_steps=4",
    "trainer.val_check_interval=4",
    "callbacks.checkpoint.enabled=false",
    "callbacks.progress_bar=none",
    "callbacks.heldout_bpc.enabled=true",
    "callbacks.heldout_bpc.every_n_train_steps=2",
    "callbacks.heldout_bpc.max_chars_per_source=600",
    "data.block_size=64",
    "data.batch_size=4",
]


def test_heldout_texts_are_validation_documents_cut_to_the_budget(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, RUN)
    texts = heldout_texts(cfg.data, cfg.seed, 600)
    (src,) = configured_sources(cfg.data)
    train_docs = {d for _, d in documents(src, cfg.data, SourceStats(), "train", cfg.seed)}
    assert sum(len(d) for d in texts["files"]) == 600
    assert not any(d in train_docs for d in texts["files"][:-1]), "held-out text was trained on"


def test_logged_from_step_zero_and_equal_to_scoring_by_hand(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path, RUN)
    tokenizer = build_tokenizer(cfg)
    model = build_model(cfg, tokenizer)  # the same seeded base the run starts from
    docs = heldout_texts(cfg.data, cfg.seed, 600)["files"]
    by_hand: TextScore = score_documents(model, tokenizer, docs, cfg.data.block_size)

    train(cfg, RunContext(output_dir=tmp_path))
    rows = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    bpc = rows[rows["heldout/bpc"].notna()]
    assert list(bpc["train/tokens_seen"]) == [0.0, 2 * 4 * 64, 4 * 4 * 64]
    assert bpc["heldout/bpc"].iloc[0] == pytest.approx(by_hand.as_dict()["bits_per_char"], 1e-4)
    assert (bpc["heldout/files/bpc"] == bpc["heldout/bpc"]).all(), "one source: pooled = it"
    assert all(math.isfinite(v) for v in bpc["heldout/bpc"])


def test_bad_interval_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"callbacks\.heldout_bpc\.every_n_train_steps"):
        train_settings(tmp_path, ["callbacks.heldout_bpc.every_n_train_steps=0"])
