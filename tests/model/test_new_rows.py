"""``lora.embeddings=new_rows`` on the real path (NF4 bitsandbytes base, peft trainable tokens):
only the extension's rows train, the adapter and checkpoints hold only them, and training,
resuming, reloading and exporting leave every old row bit-identical to the base's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from bailong.apps.export import export_run
from bailong.apps.reload import load_trained
from bailong.core.checks import ConfigError
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from bailong.training.run import RunContext, build_model, cache_dir, train
from tests.support.embedding_fixtures import english_sentencepiece, extended
from tests.support.eval_fixtures import write_corpus
from tests.support.helpers import train_settings

OLD, ROWS = 400, 408  # the tiny original vocabulary; extended + padded to a multiple of 8
DELTA = "token_adapter.trainable_tokens_delta"
STEPS = [
    "trainer.max_steps=4",
    "optim.schedule_steps=4",  # the same schedule for a run cut at step 2 and resumed
    "trainer.val_check_interval=2",
    "callbacks.checkpoint.every_n_train_steps=2",
    "callbacks.progress_bar=none",
    "data.block_size=64",
    "data.batch_size=4",
]


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Original and extended tokenizer, and a corpus that uses the new pieces (臺灣, 們)."""
    folder = tmp_path_factory.mktemp("sp")
    original = english_sentencepiece(folder)
    return original, extended(original, folder), write_corpus(folder / "corpus")["zh"]


def new_rows_settings(run: Path, tiny_files: tuple[Path, Path, Path], *more: str):
    original, ext, corpus = tiny_files
    return train_settings(
        run,
        [
            f"tokenizer.name_or_path={ext}",
            f"data.files=[{corpus}]",
            "embedding_init=zip_tie",
            f"embedding_init.original_tokenizer={original}",
            "embedding_init.pad_to_multiple_of=8",
            "lora.embeddings=new_rows",
            *STEPS,
            *more,
        ],
    )


@pytest.fixture(scope="module")
def new_rows_run(tmp_path_factory: pytest.TempPathFactory, tiny_files) -> Path:
    run = tmp_path_factory.mktemp("new_rows") / "a" / "run"
    train(new_rows_settings(run, tiny_files), RunContext(output_dir=run))
    return run


def fresh_base(cfg):
    """The base as a fresh 4-bit load gives it (the original 400 rows)."""
    return load_base_model(cfg.model, cfg.quantization, OLD, cache_dir(cfg))


def effective(module: torch.nn.Module) -> torch.Tensor:
    """The matrix a trainable-tokens embedding or head computes with."""
    return module.token_adapter.get_merged_weights(["default"]).detach()


def test_only_new_rows_train_on_a_4bit_base(tmp_path: Path, tiny_files) -> None:
    cfg = new_rows_settings(tmp_path / "a" / "run", tiny_files)
    model = build_model(cfg, load_tokenizer(str(tiny_files[1])))
    assert any(p.dtype == torch.uint8 for p in model.parameters()), "NF4 linears"
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    rows = {n: tuple(p.shape) for n, p in trainable.items() if "lora_" not in n}
    hidden = cfg.model.config["hidden_size"]
    assert sorted(rows) == [
        f"base_model.model.lm_head.{DELTA}.default",
        f"base_model.model.model.embed_tokens.{DELTA}.default",
    ]
    assert set(rows.values()) == {(ROWS - OLD, hidden)}
    base = fresh_base(cfg)
    for module, fresh in (
        (model.get_input_embeddings(), base.get_input_embeddings()),
        (model.get_output_embeddings(), base.get_output_embeddings()),
    ):
        assert not module.token_adapter.base_layer.weight.requires_grad
        assert torch.equal(effective(module)[:OLD], fresh.weight), "old rows are the base's"


def test_new_rows_needs_an_extension(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lora\.embeddings='new_rows' is invalid.*adds none"):
        train_settings(tmp_path, ["lora.embeddings=new_rows", "embedding_init=none"])


@pytest.mark.slow
def test_new_rows_trains_saves_reloads_and_exports_old_rows_bit_identical(
    new_rows_run: Path, tiny_files, tmp_path: Path
) -> None:
    cfg = new_rows_settings(new_rows_run, tiny_files)
    saved = load_file(str(new_rows_run / "adapter" / "adapter_model.safetensors"))
    not_lora = {k: tuple(v.shape) for k, v in saved.items() if "lora_" not in k}
    hidden = cfg.model.config["hidden_size"]
    assert not_lora == {
        f"base_model.model.lm_head.{DELTA}": (ROWS - OLD, hidden),
        f"base_model.model.model.embed_tokens.{DELTA}": (ROWS - OLD, hidden),
    }, "the adapter holds the new rows only"
    ckpt = torch.load(new_rows_run / "checkpoints" / "last.ckpt", weights_only=True)
    rows = {k: tuple(v.shape) for k, v in ckpt["state_dict"].items() if "lora_" not in k}
    assert set(rows.values()) == {(ROWS - OLD, hidden)} and len(rows) == 2, rows

    base = fresh_base(cfg)
    initial = build_model(cfg, load_tokenizer(str(tiny_files[1])))
    lm = load_trained(new_rows_run)  # 4-bit base as trained + adapter
    exported = AutoModelForCausalLM.from_pretrained(str(export_run(new_rows_run, tmp_path / "x")))
    pairs = [
        ("embed_tokens", lm.model.get_input_embeddings(), base.get_input_embeddings(),
         initial.get_input_embeddings(), exported.get_input_embeddings()),
        ("lm_head", lm.model.get_output_embeddings(), base.get_output_embeddings(),
         initial.get_output_embeddings(), exported.get_output_embeddings()),
    ]  # fmt: skip
    for name, reloaded, fresh, start, merged in pairs:
        weight = effective(reloaded)
        assert torch.equal(weight[:OLD], fresh.weight), f"{name}: old rows bit-identical"
        assert torch.equal(merged.weight[:OLD], fresh.weight), f"{name}: exported old rows"
        assert torch.equal(merged.weight[OLD:], weight[OLD:]), f"{name}: exported new rows"
        assert not torch.equal(weight[OLD:], effective(start)[OLD:]), f"{name}: new rows trained"
    ids = torch.arange(ROWS).reshape(4, -1)
    with torch.no_grad():
        torch.testing.assert_close(
            exported(input_ids=ids).logits, lm.model(input_ids=ids).logits, atol=1e-4, rtol=1e-4
        )


@pytest.mark.slow
def test_new_rows_resume_matches_the_uninterrupted_run(
    new_rows_run: Path, tiny_files, tmp_path: Path
) -> None:
    run = tmp_path / "a" / "run"
    train(new_rows_settings(run, tiny_files, "trainer.max_steps=2"), RunContext(output_dir=run))
    shutil.rmtree(run / "adapter")
    train(new_rows_settings(run, tiny_files, "ckpt_path=last"), RunContext(output_dir=run))
    resumed = load_file(str(run / "adapter" / "adapter_model.safetensors"))
    straight = load_file(str(new_rows_run / "adapter" / "adapter_model.safetensors"))
    assert resumed.keys() == straight.keys()
    for key, value in straight.items():
        torch.testing.assert_close(resumed[key], value, atol=1e-6, rtol=1e-5, msg=key)
