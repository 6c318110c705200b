"""The initial-loss probe: one row per method plus the reference, a JSON file, config checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from rich.console import Console

from bailong.apps.probe import ORIGINAL
from bailong.apps.probe_config import probe_arms, validate_probe_config
from bailong.apps.probe_run import (
    print_table,
    run_probe,
    split_documents,
    tokenizer_files,
    warm_up,
    write_json,
)
from bailong.core.checks import ConfigError
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.merge import (
    NORMAL,
    buildable_splits,
    contains_cjk,
    load_model_proto,
    merge_sentencepiece,
)
from tests.support.helpers import CONF

ZH = (
    "臺灣的天氣很好，我們今天去學校上課。\n\n"
    "臺北的捷運很方便，大家都喜歡搭乘。\n\n今天的新聞說天氣會變冷。"
)
EN = "The weather is nice today.\n\nWe take the train to school.\n\nThe news says it will rain."


def probe_settings(tmp_path: Path, overrides: list[str]):
    (tmp_path / "zh.txt").write_text("\n\n".join([ZH] * 8), encoding="utf-8")
    (tmp_path / "en.txt").write_text("\n\n".join([EN] * 8), encoding="utf-8")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="probe_init",
            overrides=[
                f"target_files=[{tmp_path / 'zh.txt'}]",
                f"english_files=[{tmp_path / 'en.txt'}]",
                "sample_vocab_size=300",
                "new_pieces=20",
                "base_train_steps=2",
                "block_size=32",
                f"paths.output_dir={tmp_path}",
                *overrides,
            ],
        )
    return validate_probe_config(cfg)


def test_probe_prints_one_row_per_method_and_writes_json(tmp_path: Path) -> None:
    settings = probe_settings(tmp_path, ["methods=[zip_tie,mean,zeros]"])
    rows = run_probe(settings)
    assert [r.method for r in rows] == [ORIGINAL, "zip_tie", "mean", "zeros"]
    for row in rows:
        assert row.target.tokens > 0 and row.english.tokens > 0
        assert 0 < row.target.as_dict()["bits_per_char"] < 20
    # the extension shortens the Chinese text, and English is tokenized the same way
    assert rows[1].target.tokens < rows[0].target.tokens
    assert rows[1].english.tokens == rows[0].english.tokens
    console = Console(record=True, width=120)
    print_table(rows, console)
    text = console.export_text()
    for method in (ORIGINAL, "zip_tie", "mean", "zeros"):
        assert (
            sum(line.split("│")[1].strip() == method for line in text.splitlines() if "│" in line)
            == 1
        )
    data = json.loads(write_json(rows, tmp_path / "probe.json").read_text())
    assert [d["method"] for d in data] == [r.method for r in rows]
    assert data[1]["target_bits_per_char"] == pytest.approx(
        rows[1].target.as_dict()["bits_per_char"]
    )


def test_the_probe_extends_its_original_by_the_real_merge(tmp_path: Path) -> None:
    """With no extended tokenizer given, the extension is merge_sentencepiece's output for a
    Chinese BPE trained on the non-held-out target text: every original piece keeps its id,
    score and type; each new piece holds a CJK character and is a character or a join of two
    earlier pieces; scores follow the below_base policy (each the next float32 below the
    last, starting below every original piece)."""
    settings = probe_settings(tmp_path, ["new_pieces=60"])
    zh = tmp_path / "zh.txt"  # held out: the last 5 of 27 documents, 3 of them new text
    zh.write_text(zh.read_text("utf-8") + "\n\n" + "\n\n".join(["龍鳳麒麟飛舞。"] * 3), "utf-8")
    target_train, target = split_documents(settings.target_files, settings.heldout_fraction)
    english_train, _ = split_documents(settings.english_files, settings.heldout_fraction)
    original, extended = tokenizer_files(settings, target_train, english_train, tmp_path)
    base, merged = load_model_proto(original).pieces, load_model_proto(extended).pieces
    as_tuples = [(p.piece, p.score, p.type) for p in merged]
    assert as_tuples[: len(base)] == [(p.piece, p.score, p.type) for p in base]
    new = merged[len(base) :]
    assert len(new) == 60
    assert any(len(p.piece) > 1 for p in new), "merges too, not only characters"
    symbols = {p.piece for p in base}
    score = np.float32(min(p.score for p in base))
    for p in new:
        assert contains_cjk(p.piece) and p.type == NORMAL, p.piece
        assert len(p.piece) == 1 or buildable_splits(p.piece, symbols), p.piece
        score = np.nextafter(score, np.float32(-np.inf), dtype=np.float32)
        assert p.score == score, p.piece
        symbols.add(p.piece)
    heldout_only = {c for doc in target for c in doc} - {c for doc in target_train for c in doc}
    assert heldout_only == set("龍鳳麒麟飛舞")
    addition = load_model_proto(tmp_path / "extension" / "addition.model")
    assert not heldout_only & {p.piece for p in addition.pieces}, "trained on held-out text"
    again = merge_sentencepiece(
        original,
        tmp_path / "extension" / "addition.model",
        tmp_path / "again.model",
        cjk_only=True,
        max_added=60,
    )
    assert Path(again.output_path).read_bytes() == Path(extended).read_bytes()


def test_the_warm_up_trains_every_weight_of_the_random_base(tmp_path: Path) -> None:
    """The random base's warm-up (CausalLMModule in a Lightning Trainer) lowers its loss on the
    text, moves every weight, and hands the model back in eval mode."""
    settings = probe_settings(tmp_path, [])
    texts, _ = split_documents(settings.target_files, settings.heldout_fraction)
    original = load_tokenizer(tokenizer_files(settings, texts, texts, tmp_path)[0])
    model = load_base_model(settings.model, settings.quantization, len(original), tmp_path)
    ids = torch.tensor([original(texts[0]).input_ids])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        loss_before = model(input_ids=ids, labels=ids).loss
    warm_up(model, original, texts, steps=10, block=32)
    with torch.no_grad():
        loss_after = model(input_ids=ids, labels=ids).loss
    assert loss_after < loss_before - 0.5
    assert not model.training
    assert all(not torch.equal(p, before[n]) for n, p in model.named_parameters()), "all train"


def test_probe_config_names_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"methods\[1\]='fancy'"):
        probe_settings(tmp_path, ["methods=[zip_tie,fancy]"])
    with pytest.raises(ConfigError, match=r"embedding_init\.output_weights"):
        probe_settings(tmp_path, ["embedding_init.output_weights=max"])
    with pytest.raises(ConfigError, match=r"new_pieces=-5 is invalid: .*positive"):
        probe_settings(tmp_path, ["new_pieces=-5"])


def test_variants_are_named_rows_checked_before_loading(tmp_path: Path) -> None:
    settings = probe_settings(
        tmp_path,
        ["methods=[zeros]", "+variants={zt_last: {method: zip_tie, input_weights: last}}"],
    )
    assert [name for name, _ in probe_arms(settings)] == ["zeros", "zt_last"]
    assert probe_arms(settings)[1][1].input_weights == "last"
    rows = run_probe(settings)
    assert [r.method for r in rows] == [ORIGINAL, "zeros", "zt_last"]
    with pytest.raises(ConfigError, match=r"variants\.v\.method"):
        probe_settings(tmp_path, ["+variants={v: {input_weights: last}}"])
    with pytest.raises(ConfigError, match=r"variants\.v\.input_weights"):
        probe_settings(tmp_path, ["+variants={v: {method: zip_tie, input_weights: max}}"])
    with pytest.raises(ConfigError, match=r"variants\.v"):
        probe_settings(tmp_path, ["+variants={v: {method: zip_tie, weight: 2}}"])
    with pytest.raises(ConfigError, match=r"variants\.zeros"):
        probe_settings(tmp_path, ["methods=[zeros]", "+variants={zeros: {method: mean}}"])


def test_whole_files_only_when_nothing_is_trained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"heldout_fraction=1\.0.*all given"):
        probe_settings(tmp_path, ["heldout_fraction=1.0"])
