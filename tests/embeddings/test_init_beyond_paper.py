"""Initializations beyond the paper: ``embedding_init.output`` (lm_head rows chosen apart from
embed_tokens rows), ``token_distillation`` (Dobler et al. 2025) and ``output=corpus_logprob``,
on the real path: the reference base models/zh_byte_base_23m loaded 4-bit (NF4), Llama 2's
tokenizer extended append-only, fitting text from the shared corpora's Tang poems (text the
base never saw and no study scores)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict

from bailong.apps.probe_config import validate_probe_config
from bailong.core.checks import ConfigError
from bailong.embeddings.combine import combine_rows
from bailong.embeddings.config import DistillConfig, EmbeddingInitConfig, FitTextConfig
from bailong.embeddings.distill import objective
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.original import new_token_pieces
from bailong.embeddings.progress import fit_progress
from bailong.embeddings.snippets import collect_snippets, fitting_documents
from bailong.model.config import ModelConfig, QuantizationConfig
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from tests.conftest import require_shared
from tests.support.embedding_fixtures import extended
from tests.support.helpers import compose_app, train_settings

BASE = "models/zh_byte_base_23m"
LLAMA2 = "tokenizers/llama2/tokenizer.model"
NEW = [*"煙翠霜駐蘭懷荒昔綺巖驚歡芳霞碧撫", "風雲", "煙霞"]  # byte pieces in Llama 2
NUM_OLD = 32_000
BUDGET = DistillConfig(steps=6, batch_size=8, lr=1e-2)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    """(model placeholder, extended tokenizer, original .model, fitting-text file)."""
    folder = tmp_path_factory.mktemp("beyond")
    original = require_shared(LLAMA2)
    tokenizer = load_tokenizer(str(extended(original, folder, NEW)))
    poems = require_shared("corpora/zh_tw/tang_poems/poet.tang.0.json")
    docs = ["".join(p["paragraphs"]) for p in json.loads(poems.read_text(encoding="utf-8"))]
    fit = folder / "fit.txt"
    fit.write_text("\n\n".join(docs[:40]), encoding="utf-8")
    return None, tokenizer, original, fit


@pytest.fixture(scope="module")
def setup(files, tmp_path_factory: pytest.TempPathFactory):
    """(4-bit base, extended tokenizer, original .model, fitting-text file)."""
    model = load_base_model(
        ModelConfig(name_or_path=str(require_shared(BASE))),
        QuantizationConfig(compute_dtype="float32"),  # NF4 storage, float32 compute (CPU)
        NUM_OLD,
        tmp_path_factory.mktemp("cache"),
    ).eval()
    return model, *files[1:]


def config(setup, **kw) -> EmbeddingInitConfig:
    _, _, original, fit = setup
    kw.setdefault("fit", FitTextConfig(files=[str(fit)], snippets=3, tokens_before=8))
    return EmbeddingInitConfig(original_tokenizer=str(original), input_weights="last", **kw)


def extended_rows(setup, cfg: EmbeddingInitConfig) -> tuple[torch.Tensor, torch.Tensor, object]:
    """(embed_tokens, lm_head) of a copy of the base extended with ``cfg``, and the copy."""
    model = copy.deepcopy(setup[0])
    extend_embeddings(model, setup[1], cfg)
    weights = (model.get_input_embeddings().weight, model.get_output_embeddings().weight)
    return weights[0].detach().clone(), weights[1].detach().clone(), model


def test_output_side_is_chosen_apart_from_the_input_side(setup) -> None:
    """zip_tie's input rows with zero, tied or piece lm_head rows; the old rows unchanged."""
    base = setup[0]
    zt_in, zt_out, _ = extended_rows(setup, config(setup, method="zip_tie", output="tied"))
    zero_in, zero_out, _ = extended_rows(setup, config(setup, method="zip_tie", output="zeros"))
    _, pieces_out, model = extended_rows(setup, config(setup, method="zip_tie", output="pieces"))
    torch.testing.assert_close(zero_in, zt_in, rtol=0, atol=0)
    assert torch.count_nonzero(zero_out[NUM_OLD:]) == 0
    torch.testing.assert_close(zt_out[NUM_OLD:], zt_in[NUM_OLD:], rtol=0, atol=0)
    pieces = new_token_pieces(setup[1], setup[2], len(setup[1]))
    expected = combine_rows(base.get_output_embeddings().weight[:NUM_OLD], pieces, "uniform")
    torch.testing.assert_close(pieces_out[NUM_OLD:], expected, rtol=0, atol=0)
    for new, old in ((zero_in, base.get_input_embeddings()), (pieces_out, model.lm_head)):
        torch.testing.assert_close(new[:NUM_OLD], old.weight[:NUM_OLD], rtol=0, atol=0)


def test_snippets_show_each_new_token_as_its_pieces(files) -> None:
    _, tokenizer, original, fit = files
    pieces = new_token_pieces(tokenizer, original, len(tokenizer))
    cfg = FitTextConfig(files=[str(fit)], snippets=2, tokens_before=4, tokens_after=3)
    snippets = collect_snippets(fitting_documents(cfg), tokenizer, pieces, NUM_OLD, cfg, seed=0)
    assert snippets and len({s.row for s in snippets}) > 5
    for s in snippets:
        assert s.prefix[0] == tokenizer.bos_token_id and len(s.suffix) <= 3 * 3
        assert max(s.teacher()) < NUM_OLD and list(s.pieces) == pieces[s.row]
    assert max(sum(s.row == r for s in snippets) for r in range(len(pieces))) == 2


@pytest.mark.slow  # about a minute on the shared 2-core machine: three 4-bit distillations
def test_token_distillation_reduces_its_objective_reproducibly(setup) -> None:
    base, tokenizer, original, _ = setup
    cfg = config(setup, method="token_distillation", distill=BUDGET)
    rows, head, _ = extended_rows(setup, cfg)
    again, _, _ = extended_rows(setup, cfg)
    other, _, _ = extended_rows(setup, replace(cfg, seed=1))
    torch.testing.assert_close(again, rows, rtol=0, atol=0)  # same seed: the same rows
    assert not torch.equal(other, rows)  # another seed samples other snippets
    torch.testing.assert_close(rows[:NUM_OLD], base.get_input_embeddings().weight, rtol=0, atol=0)
    assert torch.count_nonzero(head[NUM_OLD:]) == 0  # its own output side: zeros
    pieces = new_token_pieces(tokenizer, original, len(tokenizer))
    snippets = collect_snippets(
        fitting_documents(cfg.fit), tokenizer, pieces, NUM_OLD, cfg.fit, cfg.seed
    )
    start = combine_rows(base.get_input_embeddings().weight, pieces, "last")
    model = copy.deepcopy(base)
    extend_embeddings(model, tokenizer, replace(cfg, method="zip_tie"))
    before = objective(model, snippets, start.float(), -1)
    after = objective(model, snippets, rows[NUM_OLD:].float(), -1)
    assert after < 0.9 * before, (before, after)
    untouched = sorted(set(range(len(pieces))) - {s.row for s in snippets})
    torch.testing.assert_close(rows[NUM_OLD:][untouched], start[untouched], rtol=0, atol=0)


@pytest.mark.slow  # about 30 s: two sampled-text fits of w and one pass over the snippets
def test_corpus_logprob_scores_pieces_in_their_contexts(setup) -> None:
    base = setup[0]
    cfg = config(setup, method="zip_tie", output="corpus_logprob")
    _, head, _ = extended_rows(setup, cfg)
    _, again, _ = extended_rows(setup, cfg)
    _, context_free, _ = extended_rows(setup, replace(cfg, method="piece_logprob", output="method"))
    torch.testing.assert_close(again, head, rtol=0, atol=0)
    torch.testing.assert_close(head[:NUM_OLD], base.lm_head.weight, rtol=0, atol=0)
    seen = {s.row for s in collect_snippets(
        fitting_documents(cfg.fit), setup[1],
        new_token_pieces(setup[1], setup[2], len(setup[1])), NUM_OLD, cfg.fit, cfg.seed,
    )}  # fmt: skip
    differs = (head[NUM_OLD:] != context_free[NUM_OLD:]).any(dim=1)
    assert seen and set(torch.nonzero(differs).flatten().tolist()) <= seen
    assert differs.any()  # multi-piece tokens scored in context differ from after-BOS scores


def test_bad_settings_are_named_before_any_model_loads(tmp_path: Path, files) -> None:
    original = files[2]
    common = ["embedding_init=zip_tie", f"embedding_init.original_tokenizer={original}"]
    with pytest.raises(ConfigError, match=r"embedding_init\.output='logits'"):
        train_settings(tmp_path, [*common, "embedding_init.output=logits"])
    with pytest.raises(ConfigError, match=r"embedding_init\.fit\.files.*never the held-out"):
        train_settings(tmp_path, [*common, "embedding_init.output=corpus_logprob"])
    distill = ["embedding_init=token_distillation", f"embedding_init.original_tokenizer={original}"]
    with pytest.raises(ConfigError, match=r"embedding_init\.fit\.files"):
        train_settings(tmp_path, distill)
    fit = f"embedding_init.fit.files=[{files[3]}]"
    with pytest.raises(ConfigError, match=r"embedding_init\.distill\.steps=0"):
        train_settings(tmp_path, [*distill, fit, "embedding_init.distill.steps=0"])
    with pytest.raises(ConfigError, match=r"embedding_init\.fit\.files\[0\]='nowhere.txt'"):
        train_settings(tmp_path, [*distill, "embedding_init.fit.files=[nowhere.txt]"])
    with pytest.raises(ConfigError, match=r"embedding_init\.fit\.max_tokens=0"):
        train_settings(tmp_path, [*distill, fit, "embedding_init.fit.max_tokens=0"])
    assert train_settings(tmp_path, [*distill, fit]).embedding_init.distill.steps == 200
    probe = compose_app("probe_init", [], str(tmp_path))
    with open_dict(probe):
        probe.variants = {"td": {"method": "token_distillation"}}
    with pytest.raises(ConfigError, match=r"variants\.td\.fit\.files"):
        validate_probe_config(probe)


def test_target_layer_outside_the_model_is_named(setup) -> None:
    cfg = config(setup, method="token_distillation", distill=DistillConfig(target_layer=9))
    with pytest.raises(ValueError, match=r"distill\.target_layer=9: this model has 8 layers"):
        extend_embeddings(copy.deepcopy(setup[0]), setup[1], cfg)


def test_progress_in_a_redirected_log_is_ten_plain_lines(capsys) -> None:
    with fit_progress("token_distillation", 95) as advance:
        for step in range(95):
            advance(f"loss {1 / (step + 1):.3f}")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and "\r" not in "".join(lines)
    assert lines[0].startswith("token_distillation: 10/95 loss 0.100 (")
    assert lines[-1].startswith("token_distillation: 95/95 loss 0.011 (")
