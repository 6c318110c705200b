"""Vocabulary extension: exact zip-tie rows, untouched old rows, unchanged English logits,
every method selectable, the real 4-bit path, and adapter save/reload with the new rows."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from sentencepiece import SentencePieceProcessor

from bailong.apps.reload import load_trained
from bailong.core.checks import ConfigError
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.pieces import load_model_proto
from bailong.embeddings.registry import INIT_METHODS
from bailong.model.config import EmbeddingMode
from bailong.model.load import load_base_model
from bailong.tokenizer.config import MergeMode
from bailong.tokenizer.load import load_tokenizer
from bailong.training.run import build_model, cache_dir, save_trained
from tests.conftest import require_shared
from tests.support.embedding_fixtures import english_sentencepiece, extended, tiny_llama
from tests.support.helpers import group_options, train_settings


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sp")
    original = english_sentencepiece(folder)
    return original, extended(original, folder)


def byte_ids(text: str) -> list[int]:
    """Byte-fallback ids as Llama lays them out: <0x00>..<0xFF> at ids 3..258."""
    return [3 + b for b in text.encode("utf-8")]


def expected_row(old: torch.Tensor, ids: list[int], weights: list[float]) -> torch.Tensor:
    """Σ w_i·E[p_i] with w_i = c_i/n, summed exactly in float64, divided once, cast once."""
    n = round(1 / min(w for w in weights if w))
    counts = torch.tensor([round(w * n) for w in weights], dtype=torch.float64)
    rows = old[ids].detach().to(torch.float64)
    return ((counts[:, None] * rows).sum(0) / n).to(old.dtype)


def extend(model, tokenizer, original: Path, **kw) -> None:
    extend_embeddings(model, tokenizer, EmbeddingInitConfig(original_tokenizer=str(original), **kw))


def test_zip_tie_rows_are_the_weighted_combination_of_original_pieces(tiny_files) -> None:
    original, ext = tiny_files
    tokenizer = load_tokenizer(str(ext))
    base = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    old_in = base.get_input_embeddings().weight.detach().clone()
    old_out = base.get_output_embeddings().weight.detach().clone()
    tai = tokenizer.convert_tokens_to_ids("臺")

    model = copy.deepcopy(base)
    extend(model, tokenizer, original, method="zip_tie")
    pieces = byte_ids("臺")
    third = [1 / 3] * 3
    assert torch.equal(
        model.get_input_embeddings().weight[tai], expected_row(old_in, pieces, third)
    )
    assert torch.equal(
        model.get_output_embeddings().weight[tai], expected_row(old_out, pieces, third)
    )

    taiwan = tokenizer.convert_tokens_to_ids("臺灣")
    model = copy.deepcopy(base)
    extend(
        model, tokenizer, original, method="zip_tie", input_weights="first", output_weights="last"
    )
    six = byte_ids("臺灣")
    assert torch.equal(model.get_input_embeddings().weight[taiwan], old_in[six[0]])
    assert torch.equal(model.get_output_embeddings().weight[taiwan], old_out[six[-1]])

    model = copy.deepcopy(base)
    extend(model, tokenizer, original, method="zip_tie", tie_output_to_input=True, include_bos=True)
    with_bos = [1, *byte_ids("臺")]
    row = expected_row(old_in, with_bos, [1 / 4] * 4)
    assert torch.equal(model.get_input_embeddings().weight[tai], row)
    assert torch.equal(model.get_output_embeddings().weight[tai], row)


def test_configured_zip_tie_default_is_the_measured_reading_not_subword_mean(
    tmp_path: Path, tiny_files
) -> None:
    """conf/embedding_init/zip_tie.yaml: last piece's input row, lm_head tied to it (chosen by
    experiments/zip_tie_refbase), so its rows differ from subword_mean's."""
    original, ext = tiny_files
    cfg = train_settings(
        tmp_path, ["embedding_init=zip_tie", f"embedding_init.original_tokenizer={original}"]
    ).embedding_init
    assert (cfg.input_weights, cfg.tie_output_to_input) == ("last", True)
    tokenizer = load_tokenizer(str(ext))
    base = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    old_in = base.get_input_embeddings().weight.detach().clone()
    zip_tie, subword = copy.deepcopy(base), copy.deepcopy(base)
    extend_embeddings(zip_tie, tokenizer, cfg)
    extend_embeddings(subword, tokenizer, replace(cfg, method="subword_mean"))
    tai = tokenizer.convert_tokens_to_ids("臺")
    assert torch.equal(zip_tie.get_input_embeddings().weight[tai], old_in[byte_ids("臺")[-1]])
    assert torch.equal(zip_tie.lm_head.weight[tai], old_in[byte_ids("臺")[-1]])
    for matrix in ("get_input_embeddings", "get_output_embeddings"):
        new_rows = [getattr(m, matrix)().weight[len(old_in) :] for m in (zip_tie, subword)]
        assert not torch.equal(*new_rows), matrix


def test_leading_space_piece_is_a_choice(tiny_files) -> None:
    original, ext = tiny_files
    tokenizer = load_tokenizer(str(ext))
    sp = SentencePieceProcessor(model_file=str(original))
    base = tiny_llama(len(sp))
    old_in = base.get_input_embeddings().weight.detach().clone()
    spaced = tokenizer.convert_tokens_to_ids("▁臺灣")
    space = sp.piece_to_id("▁")
    assert space != sp.unk_id(), "the tiny model keeps a whitespace-only piece"
    for choice, ids in (("keep", [space, *byte_ids("臺灣")]), ("drop", byte_ids("臺灣"))):
        model = copy.deepcopy(base)
        extend(model, tokenizer, original, method="zip_tie", space_piece=choice)
        row = expected_row(old_in, ids, [1 / len(ids)] * len(ids))
        assert torch.equal(model.get_input_embeddings().weight[spaced], row), choice


@pytest.mark.parametrize("method", sorted(INIT_METHODS))
def test_old_rows_bit_identical_and_padding_rows_initialized(tiny_files, method: str) -> None:
    original, ext = tiny_files
    tokenizer = load_tokenizer(str(ext))
    base = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    old = [m.weight.detach().clone() for m in (base.get_input_embeddings(), base.lm_head)]
    model = copy.deepcopy(base)
    cfg = EmbeddingInitConfig(
        method=method, original_tokenizer=str(original), pad_to_multiple_of=64
    )
    report = extend_embeddings(model, tokenizer, cfg)
    assert report.num_new_tokens == len(tokenizer) - len(old[0]) == 5
    assert model.get_input_embeddings().num_embeddings % 64 == 0
    assert report.num_rows == model.lm_head.weight.shape[0] == model.config.vocab_size
    for before, module in zip(old, (model.get_input_embeddings(), model.lm_head), strict=True):
        w = module.weight.detach()
        assert torch.equal(w[: len(before)], before)
        new = w[len(before) :]
        assert torch.isfinite(new).all()
        # token distillation learns input rows only; its output rows are zeros by design
        zero_output = method == "token_distillation" and module is model.lm_head
        if method == "zeros" or zero_output:
            assert not new.any()
        else:  # every row, padding included, was written (resize leaves garbage/zeros)
            assert (new.abs().sum(dim=1) > 0).all()
    if method == "random":
        std = model.lm_head.weight[len(old[1]) :].std().item()
        assert 0.5 * base.config.initializer_range < std < 1.5 * base.config.initializer_range
    if method in ("mean", "mean_cov"):
        mean = old[0].mean(dim=0)
        assert torch.allclose(model.get_input_embeddings().weight[-1], mean, atol=1e-3)


def test_english_logits_over_original_ids_are_unchanged(tiny_files) -> None:
    original, ext = tiny_files
    tokenizer = load_tokenizer(str(ext))
    base = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    ids = tokenizer("the model reads a sentence and learns", return_tensors="pt").input_ids
    assert int(ids.max()) < base.config.vocab_size, "English uses no new token"
    with torch.no_grad():
        before = base(ids).logits
    for method in ("zip_tie", "random"):
        model = copy.deepcopy(base)
        extend(model, tokenizer, original, method=method, pad_to_multiple_of=8)
        with torch.no_grad():
            after = model(ids).logits
        torch.testing.assert_close(after[..., : before.shape[-1]], before, rtol=0, atol=1e-6)


def test_real_llama2_tokenizer_pieces(tmp_path: Path) -> None:
    llama2 = require_shared("tokenizers/llama2/tokenizer.model")
    # Llama 2 has neither 臺 nor 灣: appended anyway, as Chinese-LLaMA's merge does
    ext = extended(llama2, tmp_path, ["臺灣", "▁臺灣", "們"], mode=MergeMode.append_all)
    tokenizer = load_tokenizer(str(ext))
    assert len(tokenizer) == 32_003
    assert tokenizer.convert_ids_to_tokens(list(range(3, 6))) == ["<0x00>", "<0x01>", "<0x02>"]
    base = tiny_llama(32_000, hidden=8)
    old_out = base.lm_head.weight.detach().clone()
    ids = tokenizer("Hello world, this is English.", return_tensors="pt").input_ids
    with torch.no_grad():
        before = base(ids).logits
    extend(base, tokenizer, llama2, method="zip_tie")
    # 臺灣 is six UTF-8 bytes for Llama 2 (neither character is one of its pieces).
    pieces = byte_ids("臺灣")
    assert tokenizer.convert_ids_to_tokens(pieces) == [
        "<0xE8>",
        "<0x87>",
        "<0xBA>",
        "<0xE7>",
        "<0x81>",
        "<0xA3>",
    ]
    row = expected_row(old_out, pieces, [1 / 6] * 6)
    assert torch.equal(base.lm_head.weight[tokenizer.convert_tokens_to_ids("臺灣")], row)
    spaced = [29871, *pieces]  # "▁" is id 29871 in Llama 2
    row = expected_row(old_out, spaced, [1 / 7] * 7)
    assert torch.equal(base.lm_head.weight[tokenizer.convert_tokens_to_ids("▁臺灣")], row)
    with torch.no_grad():
        after = base(ids).logits
    torch.testing.assert_close(after[..., :32_000], before, rtol=0, atol=1e-6)


@pytest.mark.parametrize("option", group_options("embedding_init"))
def test_every_method_is_selectable_from_the_command_line(tmp_path: Path, tiny_files, option):
    original, _ = tiny_files
    overrides = [f"embedding_init={option}", f"embedding_init.original_tokenizer={original}"]
    if option == "token_distillation":  # it reads fitting text
        (tmp_path / "fit.txt").write_text("臺灣", encoding="utf-8")
        overrides.append(f"embedding_init.fit.files=[{tmp_path / 'fit.txt'}]")
    cfg = train_settings(tmp_path, overrides)
    assert cfg.embedding_init.method == option
    assert option in ("none", *INIT_METHODS)


def test_missing_or_bad_settings_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"embedding_init\.original_tokenizer.*vocab=extended"):
        train_settings(tmp_path, ["tokenizer=sample_bpe", "embedding_init=zip_tie"])
    with pytest.raises(ConfigError, match=r"embedding_init\.method='fancy'"):
        train_settings(tmp_path, ["embedding_init.method=fancy"])
    with pytest.raises(ConfigError, match=r"embedding_init\.input_weights"):
        train_settings(tmp_path, ["embedding_init=zip_tie", "embedding_init.input_weights=max"])


def test_non_append_only_tokenizer_is_rejected(tiny_files, tmp_path: Path) -> None:
    """A tokenizer that moved an original piece would give old rows to the wrong tokens."""
    original, ext = tiny_files
    proto = load_model_proto(ext)
    proto.pieces[300].piece, proto.pieces[301].piece = (
        proto.pieces[301].piece,
        proto.pieces[300].piece,
    )
    (tmp_path / "tokenizer.model").write_bytes(proto.SerializeToString())
    model = tiny_llama(len(SentencePieceProcessor(model_file=str(original))))
    with pytest.raises(ValueError, match="append-only extension of the original: id 300"):
        extend(model, load_tokenizer(str(tmp_path / "tokenizer.model")), original, method="mean")


@pytest.mark.parametrize("mode", [EmbeddingMode.full, EmbeddingMode.frozen])
def test_4bit_build_and_adapter_reload_keep_new_rows(tmp_path: Path, tiny_files, mode) -> None:
    """The real path: NF4 base (bitsandbytes), extension before peft, adapter save, reload."""
    original, ext = tiny_files
    cfg = train_settings(
        tmp_path,
        [
            f"tokenizer.name_or_path={ext}",
            "embedding_init=zip_tie",
            f"embedding_init.original_tokenizer={original}",
            "embedding_init.pad_to_multiple_of=8",
            f"lora.embeddings={mode.value}",
        ],
    )
    tokenizer = load_tokenizer(str(ext))
    model = build_model(cfg, tokenizer)
    linear4bit = [n for n, p in model.named_parameters() if p.dtype == torch.uint8]
    assert linear4bit, "the base is quantized to 4 bits"
    rows = model.get_input_embeddings().weight.detach().clone()
    head = model.get_output_embeddings().weight.detach().clone()
    assert rows.shape[0] == 408 and rows.dtype == torch.float32

    fresh = load_base_model(cfg.model, cfg.quantization, 400, cache_dir(cfg))
    assert torch.equal(rows[:400], fresh.get_input_embeddings().weight), "old rows unchanged"
    expected = replace(cfg.embedding_init)
    probe = tiny_equivalent_rows(fresh, tokenizer, expected)
    assert torch.equal(rows[400:], probe)

    adapter = save_trained(cfg, model, tokenizer, tmp_path)
    reloaded = load_trained(adapter, cache_dir=cache_dir(cfg)).model
    assert torch.equal(reloaded.get_input_embeddings().weight, rows)
    assert torch.equal(reloaded.get_output_embeddings().weight, head)


def tiny_equivalent_rows(base, tokenizer, cfg: EmbeddingInitConfig) -> torch.Tensor:
    """The new embed_tokens rows extend_embeddings gives an unwrapped copy of the base."""
    extend_embeddings(base, tokenizer, cfg)
    return base.get_input_embeddings().weight.detach()[400:].clone()
