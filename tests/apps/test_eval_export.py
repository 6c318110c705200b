"""Reload and export: the merged plain-HF model computes what the adapter model computes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from bailong.apps.export import export_run
from bailong.apps.reload import load_trained
from bailong.cli.export import main as export_main
from bailong.training.run_record import RUN_RECORD
from tests.support.eval_fixtures import extended_run, trained_run

PROMPT = "臺灣夜市的珍珠奶茶 and the quick brown fox"
NEW_TOKENS = ["臺灣夜市", "珍珠奶茶", "阿里山日出"]


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer(PROMPT, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits.float()


def _stock(out: Path):
    """Load with plain transformers: no peft, no bailong."""
    return AutoModelForCausalLM.from_pretrained(str(out)), AutoTokenizer.from_pretrained(str(out))


def test_train_records_the_base_beside_the_adapter(tmp_path_factory) -> None:
    run = trained_run(tmp_path_factory.getbasetemp())
    record = json.loads((run / "adapter" / RUN_RECORD).read_text("utf-8"))
    assert record["train_config"]["quantization"]["enabled"] is True
    assert record["train_config"]["model"]["config"]["hidden_size"] == 128
    assert record["base_vocab_size"] == len(AutoTokenizer.from_pretrained(str(run / "adapter")))
    lm = load_trained(run)
    assert lm.is_adapter and lm.chat_template == "llama2"
    assert (
        "Linear4bit"
        in type(lm.model.get_base_model().model.layers[0].mlp.up_proj.base_layer).__name__
    )


def test_export_of_a_4bit_run_matches_the_adapter_model(tmp_path_factory, tmp_path: Path) -> None:
    run = trained_run(tmp_path_factory.getbasetemp())
    lm = load_trained(run)  # 4-bit base + adapter, as trained
    out = export_run(run, tmp_path / "merged", base="dequantized", dtype="float32")
    model, tok = _stock(out)
    assert not hasattr(model, "peft_config") and "quantization_config" not in model.config.to_dict()
    assert tok.get_vocab() == lm.tokenizer.get_vocab()
    expected = _logits(lm.model, lm.tokenizer)
    torch.testing.assert_close(_logits(model, tok), expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(FileExistsError):
        export_run(run, out)


@pytest.mark.parametrize("quantized", [False, True])
def test_export_with_an_extended_vocabulary(
    tmp_path_factory, tmp_path: Path, quantized: bool
) -> None:
    run, base_vocab = extended_run(tmp_path_factory.getbasetemp(), NEW_TOKENS, quantized)
    lm = load_trained(run)
    vocab = len(lm.tokenizer)
    assert vocab == base_vocab + len(NEW_TOKENS)
    assert lm.model.get_base_model().get_input_embeddings().num_embeddings == vocab
    ids = lm.tokenizer(PROMPT)["input_ids"]
    assert any(i >= base_vocab for i in ids), "the prompt uses the new tokens"
    export_main([str(run), str(tmp_path / "merged"), "--dtype", "float32"])
    model, tok = _stock(tmp_path / "merged")
    assert model.config.vocab_size == vocab and len(tok) == vocab
    adapter_logits = _logits(lm.model, lm.tokenizer)
    torch.testing.assert_close(_logits(model, tok), adapter_logits, atol=1e-4, rtol=1e-4)
    with lm.model.disable_adapter():  # the adapter is not a no-op: the check means something
        assert (_logits(lm.model, lm.tokenizer) - adapter_logits).abs().max() > 1e-2
