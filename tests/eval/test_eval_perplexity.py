"""Perplexity / bits per character against a by-hand computation on the same text."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from bailong.eval.perplexity import (
    bits_per_character,
    perplexity_by_language,
    score_documents,
    windows,
)
from tests.support.eval_fixtures import EN, ZH


def test_bits_per_character_is_nats_over_ln2_over_chars() -> None:
    assert bits_per_character(10 * math.log(2), 5) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="n_chars=0"):
        bits_per_character(1.0, 0)


@pytest.mark.parametrize("n", [2, 3, 7, 8, 9, 15, 16, 17, 40])
def test_windows_predict_every_token_exactly_once(n: int) -> None:
    ids = list(range(n))
    targets = [t for w in windows(ids, 8) for t in w[1:]]
    assert targets == ids[1:]
    assert all(len(w) <= 8 for w in windows(ids, 8))


def _hand_nll(model, ids: list[int]) -> float:
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
    return float(F.cross_entropy(logits[:-1], torch.tensor(ids[1:]), reduction="sum"))


def test_perplexity_equals_exp_mean_nll_by_hand(trained_lm) -> None:
    model, tok = trained_lm
    docs = [ZH[0], EN[1], ZH[2] + EN[3]]
    encoded = [[tok.bos_token_id, *tok(d, add_special_tokens=False)["input_ids"]] for d in docs]
    nll = sum(_hand_nll(model, ids) for ids in encoded)
    n_tokens = sum(len(ids) - 1 for ids in encoded)
    got = score_documents(model, tok, docs, block_size=512, batch_size=2).as_dict()
    assert got["tokens"] == n_tokens
    assert got["ppl"] == pytest.approx(math.exp(nll / n_tokens), rel=1e-4)
    assert got["bits_per_char"] == pytest.approx(nll / math.log(2) / sum(map(len, docs)), rel=1e-4)


def test_long_documents_are_scored_window_by_window(trained_lm) -> None:
    model, tok = trained_lm
    doc = " ".join(EN)
    ids = [tok.bos_token_id, *tok(doc, add_special_tokens=False)["input_ids"]]
    assert len(ids) > 30
    nll = sum(_hand_nll(model, w) for w in windows(ids, 8))
    got = score_documents(model, tok, [doc], block_size=8, batch_size=3)
    assert got.nll == pytest.approx(nll, rel=1e-4)
    assert got.tokens == len(ids) - 1


def test_per_language_results_and_the_pooled_row(trained_lm, tmp_path: Path) -> None:
    model, tok = trained_lm
    (tmp_path / "zh.txt").write_text("\n\n".join(ZH), encoding="utf-8")
    (tmp_path / "en.jsonl").write_text("\n".join(f'{{"text": "{t}"}}' for t in EN), "utf-8")
    files = {"zh": [tmp_path / "zh.txt"], "en": [tmp_path / "en.jsonl"]}
    res = perplexity_by_language(model, tok, files, block_size=64, max_chars=120)
    assert res["zh"]["chars"] == 120 and res["en"]["chars"] == 120
    pooled_bits = (res["zh"]["bits_per_char"] + res["en"]["bits_per_char"]) * 120
    assert res["all"]["bits_per_char"] * 240 == pytest.approx(pooled_bits)
    assert res["zh"]["chars_per_token"] != res["en"]["chars_per_token"]
