"""The reference base (shared data models/zh_byte_base_23m): it loads through the project's
loading path (4-bit too) and knows Chinese; extension with every method keeps its English
logits over the original 32,000 ids; the probe runs on it end to end. Held-out text only."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from bailong.apps.probe import ORIGINAL
from bailong.apps.probe_config import probe_arms, validate_probe_config
from bailong.apps.probe_run import run_probe
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.registry import INIT_METHODS
from bailong.eval.perplexity import score_documents
from bailong.model.config import ModelConfig, QuantizationConfig
from bailong.model.load import load_base_model
from bailong.tokenizer.load import load_tokenizer
from tests.conftest import require_shared
from tests.support.embedding_fixtures import extended
from tests.support.helpers import compose_app

ROOT = Path(__file__).resolve().parents[2]
BASE = "models/zh_byte_base_23m"
LLAMA2 = "tokenizers/llama2/tokenizer.model"
# Characters and words (not taken from the held-out text) for a small extension; those Llama 2
# already has as pieces are skipped by the extension.
NEW = [*"的一是不了人這來國們為時會臺灣詩詞賦韻鄉愁歸鶴霜礙穩纔鬢", "臺灣", "▁臺灣", "詩人"]
ENGLISH = "The weather is nice today, and we take the train to school in the morning."


def heldout_poems(chars: int) -> list[str]:
    lines = require_shared(f"{BASE}/heldout_zh_poems.txt").read_text(encoding="utf-8").split()
    docs, total = [], 0
    for line in lines:
        docs.append(line)
        total += len(line)
        if total >= chars:
            return docs
    return docs


@pytest.fixture(scope="module")
def base_dir() -> Path:
    return require_shared(BASE)


@pytest.fixture(scope="module")
def small_extension(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    original = require_shared(LLAMA2)
    return original, extended(original, tmp_path_factory.mktemp("ext"), NEW)


@pytest.mark.parametrize("quantization", ["none", "nf4_fp32"])
def test_reference_base_loads_and_knows_chinese(base_dir: Path, tmp_path: Path, quantization):
    q = QuantizationConfig(enabled=False)
    if quantization == "nf4_fp32":
        q = QuantizationConfig(compute_dtype="float32")
    model = load_base_model(ModelConfig(name_or_path=str(base_dir)), q, 32_000, tmp_path).eval()
    assert model.get_input_embeddings().num_embeddings == 32_000
    tokenizer = load_tokenizer(str(require_shared(LLAMA2)))
    bpc = score_documents(model, tokenizer, heldout_poems(200), 256).as_dict()["bits_per_char"]
    # held-out poems: 7.2 bits/char measured at the end of pretraining; a random init is ~28
    assert bpc < 10, bpc


def test_every_method_keeps_english_logits(base_dir: Path, tmp_path: Path, small_extension):
    original, ext = small_extension
    tokenizer = load_tokenizer(str(ext))
    q = QuantizationConfig(enabled=False)
    base = load_base_model(ModelConfig(name_or_path=str(base_dir)), q, 32_000, tmp_path).eval()
    ids = tokenizer(ENGLISH, return_tensors="pt").input_ids
    assert int(ids.max()) < 32_000, "English uses no new token"
    with torch.no_grad():
        before = base(ids).logits
    for method in sorted(INIT_METHODS):
        model = copy.deepcopy(base)
        cfg = EmbeddingInitConfig(method=method, original_tokenizer=str(original))
        extend_embeddings(model, tokenizer, cfg)
        assert model.get_input_embeddings().num_embeddings == len(tokenizer) > 32_010
        with torch.no_grad():
            after = model(ids).logits
        torch.testing.assert_close(after[..., :32_000], before, rtol=0, atol=1e-5, msg=method)


@pytest.mark.slow  # about 40 s on the shared 2-core machine
def test_probe_runs_on_the_reference_base(tmp_path: Path, small_extension) -> None:
    require_shared(BASE)
    _, ext = small_extension
    (tmp_path / "zh.txt").write_text("\n\n".join(heldout_poems(300)), encoding="utf-8")
    (tmp_path / "en.txt").write_text(ENGLISH, encoding="utf-8")
    cfg = compose_app(
        "probe_init_refbase",
        [
            f"extended_tokenizer={ext}",
            f"target_files=[{tmp_path / 'zh.txt'}]",
            f"english_files=[{tmp_path / 'en.txt'}]",
            "methods=[zip_tie,random]",
        ],
        str(tmp_path),
    )
    cfg.variants = {  # replaces the study's variants (a command-line dict would merge)
        "zt_in_last_tied": {
            "method": "zip_tie",
            "input_weights": "last",
            "tie_output_to_input": True,
        }
    }
    rows = run_probe(validate_probe_config(cfg))
    assert [r.method for r in rows] == [ORIGINAL, "zip_tie", "random", "zt_in_last_tied"]
    reference = rows[0].target.as_dict()["bits_per_char"]
    assert reference < 10
    for row in rows:
        assert row.target.chars == rows[0].target.chars  # whole files: the same characters
        assert row.target.as_dict()["bits_per_char"] > reference - 3
    # extension with these pieces shortens the Chinese and leaves English tokens as they were
    assert rows[1].target.tokens < rows[0].target.tokens
    assert rows[1].english.tokens == rows[0].english.tokens


@pytest.mark.slow  # the study's one command, shrunk: 150 characters, two methods, no variants
def test_reference_base_study_command(tmp_path: Path) -> None:
    base = require_shared(BASE)
    results = tmp_path / "results"
    env = {
        **os.environ,
        "BAILONG_SHARED_DATA": str(base.parent.parent),
        "BAILONG_CACHE": str(tmp_path / "cache"),
        "PYTHON": sys.executable,
        "CHARS": "150",
        "RESULTS": str(results),
        "PROBE_ARGS": "~variants methods=[subword_mean,zeros]",
    }
    script = ROOT / "experiments" / "zip_tie_refbase" / "run_study.sh"
    subprocess.run(["bash", str(script)], cwd=ROOT, env=env, check=True, timeout=1500)
    table = pd.read_csv(results / "results.csv", index_col="method")
    assert list(table.index) == [ORIGINAL, "subword_mean", "zeros"]
    assert table.loc[ORIGINAL, "zh_vs_original"] == 0
    assert (table["zh"] - (table["zh_poems"] + table["zh_modern"]) / 2).abs().max() < 1e-3
    assert "**subword_mean**" in (results / "results.md").read_text(encoding="utf-8")
    assert (results / "bits_per_char.png").stat().st_size > 0


def test_study_variants_change_one_reading_of_uniform_untied(tmp_path: Path, small_extension):
    """The study's rows stay what was measured whatever zip_tie.yaml's default becomes."""
    _, ext = small_extension
    cfg = compose_app("probe_init_refbase", [f"extended_tokenizer={ext}"], str(tmp_path))
    arms = dict(probe_arms(validate_probe_config(cfg)))
    for name in ("zt_space_drop", "zt_with_bos", "piece_logprob"):
        assert (arms[name].input_weights, arms[name].tie_output_to_input) == ("uniform", False)
    assert arms["zt_space_drop"].space_piece == "drop" and arms["zt_with_bos"].include_bos
    assert arms["zt_in_last_tied"].input_weights == "last"
    assert arms["zt_in_last_tied"].tie_output_to_input
