"""Beyond Llama 2: byte-level BPE extension, and the whole path on tiny Qwen2, Mistral and
Gemma shapes (tied and untied heads, byte-level and SentencePiece tokenizers), real 4-bit.

Per family: extension keeps old rows bit for bit (and the head tied where the base ties it),
the new rows are the zip-tie combination of the ORIGINAL tokenizer's pieces, English logits over
the original vocabulary are unchanged; then QLoRA training, adapter save, reload, export, and
the export loaded by stock transformers computes what the trained adapter model computes.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
import torch
from rich.console import Console
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

from bailong.apps.export import export_run
from bailong.apps.reload import load_trained
from bailong.core.checks import ConfigError
from bailong.data.documents import bundled_file
from bailong.embeddings.combine import combine_rows
from bailong.embeddings.config import EmbeddingInitConfig
from bailong.embeddings.extend import extend_embeddings
from bailong.embeddings.original import new_token_pieces
from bailong.model.architecture import describe
from bailong.model.config import EmbeddingMode
from bailong.model.load import load_base_model
from bailong.tokenizer.byte_level import append_merges, token_bytes
from bailong.tokenizer.byte_level_extend import extend_byte_level
from bailong.tokenizer.extend import extend_tokenizer
from bailong.tokenizer.extend_config import validate_extend_tokenizer_config
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.report import print_report
from bailong.training.run import RunContext, build_model, build_tokenizer, cache_dir, train
from tests.support.anybase_fixtures import (
    QWEN2_SPECIALS,
    TokenizerPair,
    byte_level_pair,
    documents,
    qwen2_like_base,
    sentencepiece_pair,
)
from tests.support.eval_fixtures import FAST
from tests.support.helpers import compose_app, train_settings

ENGLISH = "The island grows a few centimeters wider every year as magma wells up."
CHINESE = "臺灣位於東亞，中央山脈縱貫臺灣南北。"
# family → (model option, tokenizer kind, tied)
FAMILIES = {
    "qwen2": ("tiny_qwen2", "byte_level", True),
    "mistral": ("tiny_mistral", "sentencepiece", False),
    "gemma": ("tiny_gemma", "sentencepiece", True),
    "llama": ("tiny_llama", "byte_level", False),  # Llama 3's kind: byte-level BPE, untied
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TokenizerPair]:
    return {
        "byte_level": byte_level_pair(tmp_path_factory.mktemp("byte-level")),
        "sentencepiece": sentencepiece_pair(tmp_path_factory.mktemp("sentencepiece")),
    }


def family_overrides(family: str, pair: TokenizerPair) -> list[str]:
    return [
        f"model={FAMILIES[family][0]}",
        f"tokenizer.name_or_path={pair.extended}",
        "embedding_init=zip_tie",
        f"embedding_init.original_tokenizer={pair.original}",
        "quantization.compute_dtype=float32",
    ]


def test_byte_level_extension_is_append_only(pairs) -> None:
    pair = pairs["byte_level"]
    base = json.loads((pair.original / "tokenizer.json").read_text("utf-8"))
    ext = json.loads((pair.extended / "tokenizer.json").read_text("utf-8"))
    for token, token_id in base["model"]["vocab"].items():
        assert ext["model"]["vocab"][token] == token_id
    assert ext["model"]["merges"][: len(base["model"]["merges"])] == base["model"]["merges"]
    assert pair.report is not None
    appended = pair.report["appended"]
    assert 0 < appended["added"] <= 400 and appended["truncated"] > 0
    assert pair.report["extended_vocab_size"] == 701 + appended["added"]
    english, chinese = pair.report["languages"]["en"], pair.report["languages"]["zh_tw"]
    assert english["lines_changed"] == 0 and english["tokens_after"] == english["tokens_before"]
    assert chinese["chars_per_token_after"] > 1.5 * chinese["chars_per_token_before"]
    assert chinese["byte_fraction_after"] < chinese["byte_fraction_before"]
    original, extended = (
        AutoTokenizer.from_pretrained(str(pair.original)),
        load_tokenizer(str(pair.extended)),
    )
    assert extended.eos_token_id == original.eos_token_id  # the special token kept its id
    for text in (ENGLISH, CHINESE):
        assert extended.decode(extended(text).input_ids) == text
    assert extended(ENGLISH).input_ids == original(ENGLISH).input_ids


def test_a_qwen2_layout_extends_append_only(tmp_path: Path) -> None:
    """NFC + regex split + ignore_merges + specials after the vocabulary, class Qwen2Tokenizer."""
    base = qwen2_like_base(tmp_path)
    zh = documents("zh_tw.txt")
    heldout = {"zh_tw": zh[-4:], "en": documents("en.txt")}
    report = extend_byte_level(base, zh[:-4], heldout, tmp_path / "ext", vocab_size=1500)
    assert report["languages"]["en"]["lines_changed"] == 0 and report["pieces_added"] > 500
    spec = json.loads((tmp_path / "ext" / "tokenizer.json").read_text("utf-8"))
    assert spec["model"]["ignore_merges"] and spec["normalizer"]["type"] == "NFC"
    original, extended = (
        AutoTokenizer.from_pretrained(str(base)),
        load_tokenizer(str(tmp_path / "ext")),
    )
    assert type(extended).__name__ == "Qwen2Tokenizer"
    assert len(extended) == len(original) + report["pieces_added"]
    for special in QWEN2_SPECIALS:  # the special tokens keep their ids, after the vocabulary
        assert extended.convert_tokens_to_ids(special) == original.convert_tokens_to_ids(special)
    chat = "<|im_start|>user\n" + CHINESE + "<|im_end|>"
    assert extended.decode(extended(chat).input_ids) == chat
    assert len(extended(chat).input_ids) < len(original(chat).input_ids)
    pieces = new_token_pieces(extended, base, len(extended))
    assert all(ids and max(ids) < len(original) for ids in pieces)


def test_the_report_warns_when_english_is_not_checked(tmp_path: Path, pairs) -> None:
    zh = documents("zh_tw.txt")
    with pytest.warns(UserWarning, match="English segmentation not checked"):
        report = extend_byte_level(
            pairs["byte_level"].original, zh, {}, tmp_path / "ext", vocab_size=800
        )
    assert report["warnings"] == ["English segmentation not checked: no English lines given"]
    assert pairs["byte_level"].report["warnings"] == []


def test_extend_tokenizer_app_takes_a_byte_level_base(tmp_path: Path, pairs) -> None:
    """bailong-extend-tokenizer with a tokenizer.json base: same corpus options, same report."""
    zh = tmp_path / "zh.txt"
    zh.write_text("\n".join(documents("zh_tw.txt")), "utf-8")
    overrides = [
        f"base_model={pairs['byte_level'].original}",
        f"corpus.files=[{zh}]",
        f"corpus.en_files=[{bundled_file('en.txt')}]",
        f"output_dir={tmp_path / 'out'}",
        "spm.vocab_size=1200",
        "merge.max_added=150",
    ]
    settings = validate_extend_tokenizer_config(compose_app("extend_tokenizer", overrides, "x"))
    report = extend_tokenizer(settings)
    assert json.loads((tmp_path / "out" / "report.json").read_text("utf-8")) == report
    assert report["kind"] == "byte_level_bpe" and 140 <= report["pieces_added"] <= 150
    assert report["languages"]["en"]["lines_changed"] == 0
    assert len(load_tokenizer(str(tmp_path / "out"))) == report["extended_vocab_size"]
    print_report(report, Console(file=io.StringIO()))


@pytest.mark.parametrize(
    "override", ["merge.mode=append_all", "merge.score_policy=zero", "merge.min_score=-5"]
)
def test_sentencepiece_only_settings_are_refused_for_a_byte_level_base(
    tmp_path: Path, pairs, override: str
) -> None:
    overrides = [f"base_model={pairs['byte_level'].original}", f"corpus.files=[{tmp_path}]"]
    with pytest.raises(ConfigError, match=override.split("=")[0].replace(".", r"\.")):
        validate_extend_tokenizer_config(
            compose_app("extend_tokenizer", [*overrides, override], "x")
        )


def test_new_byte_level_tokens_split_into_the_original_pieces_of_their_bytes(pairs) -> None:
    pair = pairs["byte_level"]
    tokenizer = load_tokenizer(str(pair.extended))
    original = Tokenizer.from_file(str(pair.original / "tokenizer.json"))
    num_old = original.get_vocab_size()
    pieces = new_token_pieces(tokenizer, pair.original, len(tokenizer) + 3)
    assert len(pieces) == len(tokenizer) + 3 - num_old and pieces[-3:] == [[], [], []]
    tokens = tokenizer.convert_ids_to_tokens(list(range(num_old, len(tokenizer))))
    whole = 0
    for token, ids in zip(tokens, pieces, strict=False):
        assert all(i < num_old for i in ids)
        assert b"".join(token_bytes(original.id_to_token(i)) for i in ids) == token_bytes(token)
        text = token_bytes(token).decode("utf-8", errors="ignore")
        if len(text.encode()) == len(token_bytes(token)):  # a whole token: its text's encoding
            assert ids == original.encode(text, add_special_tokens=False).ids
            whole += 1
    assert whole > 100


def test_a_sentencepiece_style_tokenizer_json_gives_the_sentencepiece_pieces(
    tmp_path: Path, pairs
) -> None:
    """Mistral/Gemma also ship tokenizer.json (BPE with byte fallback, no byte-level alphabet):
    read through it, a new token's pieces are those SentencePiece itself gives."""
    pair = pairs["sentencepiece"]
    load_tokenizer(str(pair.original)).save_pretrained(tmp_path / "json-only")
    assert not (tmp_path / "json-only" / "tokenizer.model").exists()
    extended = load_tokenizer(str(pair.extended))
    for space_piece in ("keep", "drop"):
        via_json = new_token_pieces(
            extended, tmp_path / "json-only", len(extended), space_piece=space_piece
        )
        via_sp = new_token_pieces(extended, pair.original, len(extended), space_piece=space_piece)
        assert via_json == via_sp and len(via_sp) == 200
    spec = json.loads((tmp_path / "json-only" / "tokenizer.json").read_text("utf-8"))
    with pytest.raises(ValueError, match="without a ByteLevel pre-tokenizer"):
        append_merges(spec, [["a", "b"]])


def test_pieces_of_text_added_tokens_come_from_the_whole_original_pipeline(pairs) -> None:
    pair = pairs["byte_level"]
    tokenizer = AutoTokenizer.from_pretrained(str(pair.original))
    num_old = len(tokenizer)
    tokenizer.add_tokens(["珍珠奶茶"])
    original = Tokenizer.from_file(str(pair.original / "tokenizer.json"))
    pieces = new_token_pieces(tokenizer, pair.original, num_old + 1)
    assert pieces == [original.encode("珍珠奶茶", add_special_tokens=False).ids]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_extension_keeps_old_rows_ties_and_english_logits(tmp_path: Path, pairs, family) -> None:
    """The real NF4 base of each family, extended as a run extends it."""
    _, kind, tied = FAMILIES[family]
    pair = pairs[kind]
    cfg = train_settings(tmp_path, family_overrides(family, pair))
    tokenizer = load_tokenizer(str(pair.extended))
    original = load_tokenizer(str(pair.original))
    base = load_base_model(cfg.model, cfg.quantization, len(original), cache_dir(cfg))
    arch = describe(base)
    assert arch.model_type == family and arch.tied is tied
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "down_proj"} <= set(arch.linear_modules)
    assert "lm_head" not in arch.linear_modules
    assert any(p.dtype == torch.uint8 for p in base.parameters()), "the base is 4-bit"
    ids = original(ENGLISH, return_tensors="pt").input_ids
    assert tokenizer(ENGLISH, return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.no_grad():
        before = base(ids).logits
    old = base.get_input_embeddings().weight.detach().clone()
    old_head = base.get_output_embeddings().weight.detach().clone()
    extended = copy.deepcopy(base)
    extend_embeddings(extended, tokenizer, cfg.embedding_init)
    inp, out = extended.get_input_embeddings().weight, extended.get_output_embeddings().weight
    assert inp.shape[0] == len(tokenizer) > len(original)
    assert torch.equal(inp[: len(original)], old) and torch.equal(out[: len(original)], old_head)
    assert (out is inp) is tied, "a tied base stays tied: one combined row per new token"
    pieces = new_token_pieces(tokenizer, pair.original, len(tokenizer))
    init = cfg.embedding_init  # zip_tie as configured (conf/embedding_init/zip_tie.yaml)
    new_inp = combine_rows(old, pieces, init.input_weights)
    assert torch.equal(inp[len(original) :], new_inp)
    if not tied:
        new_out = (
            new_inp
            if init.tie_output_to_input
            else combine_rows(old_head, pieces, init.output_weights)
        )
        assert torch.equal(out[len(original) :], new_out)
    with torch.no_grad():
        after = extended(ids).logits
    torch.testing.assert_close(after[..., : before.shape[-1]], before, rtol=0, atol=1e-6)


def test_rows_a_base_has_past_its_tokenizer_are_taken_first(tmp_path: Path, pairs) -> None:
    """Qwen2.5 has 151,936 rows for 151,665 tokens: new tokens use the spare rows first."""
    pair = pairs["byte_level"]
    cfg = train_settings(tmp_path, family_overrides("qwen2", pair))
    tokenizer = AutoTokenizer.from_pretrained(str(pair.original))
    num_old = len(tokenizer)
    tokenizer.add_tokens(["珍珠奶茶", "阿里山"])
    base = load_base_model(cfg.model, cfg.quantization, num_old + 6, cache_dir(cfg))
    old = base.get_input_embeddings().weight.detach().clone()
    extend_embeddings(base, tokenizer, cfg.embedding_init)
    rows = base.get_input_embeddings().weight.detach()
    assert rows.shape[0] == num_old + 6, "no growth: the spare rows suffice"
    assert torch.equal(rows[:num_old], old[:num_old])
    pieces = new_token_pieces(tokenizer, pair.original, num_old + 6)
    weights = cfg.embedding_init.input_weights
    assert torch.equal(rows[num_old:], combine_rows(old[:num_old], pieces, weights))
    assert torch.allclose(rows[-1], old[:num_old].mean(0), atol=1e-6), "spare rows: the mean"


def test_tied_base_rejects_different_input_and_output_weights(tmp_path: Path, pairs) -> None:
    pair = pairs["byte_level"]
    cfg = train_settings(tmp_path, family_overrides("qwen2", pair))
    base = load_base_model(cfg.model, cfg.quantization, 701, cache_dir(cfg))
    settings = EmbeddingInitConfig(
        method="zip_tie", original_tokenizer=str(pair.original), output_weights="first"
    )
    with pytest.raises(ValueError, match="ties its head to its embedding"):
        extend_embeddings(base, load_tokenizer(str(pair.extended)), settings)


def test_tied_base_refuses_lora_on_embeddings(tmp_path: Path, pairs) -> None:
    cfg = train_settings(tmp_path, [*family_overrides("qwen2", pairs["byte_level"]), *FAST])
    cfg.lora.embeddings = EmbeddingMode.lora
    with pytest.raises(ValueError, match=r"lora\.embeddings=lora is not supported for a qwen2"):
        build_model(cfg, load_tokenizer(str(pairs["byte_level"].extended)))


def test_unknown_model_type_and_missing_original_tokenizer_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.config\.model_type='not_a_model'"):
        train_settings(tmp_path, ["model=tiny_qwen2", "model.config.model_type=not_a_model"])
    local = tmp_path / "remote-code-model"
    local.mkdir()
    (local / "config.json").write_text(json.dumps({"model_type": "my_own_lm", "hidden_size": 64}))
    with pytest.raises(ConfigError, match=r"config\.json: model_type='my_own_lm' is invalid"):
        train_settings(tmp_path, [f"model.name_or_path={local}"])
    # a pretrained base trains on its own tokenizer here: no default sample extension
    allowed = [f"model.name_or_path={local}", "model.trust_remote_code=true", "embedding_init=none"]
    assert train_settings(tmp_path, allowed).model.trust_remote_code
    with pytest.raises(ConfigError, match=r"embedding_init\.original_tokenizer=.*tokenizer\.json"):
        train_settings(
            tmp_path, ["embedding_init=zip_tie", f"embedding_init.original_tokenizer={tmp_path}"]
        )


def _logits(model, tokenizer) -> torch.Tensor:
    ids = tokenizer(CHINESE + " " + ENGLISH, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits.float()


WHOLE_PATH = [("qwen2", "full"), ("mistral", "full"), ("gemma", "full"), ("llama", "lora")]


@pytest.mark.parametrize(("family", "embeddings"), WHOLE_PATH)
def test_whole_path(tmp_path: Path, pairs, family: str, embeddings: str) -> None:
    """extend → initialize → QLoRA train → save → reload → export → stock transformers."""
    _, kind, tied = FAMILIES[family]
    pair = pairs[kind]
    run = tmp_path / "run"
    overrides = [*family_overrides(family, pair), *FAST, f"lora.embeddings={embeddings}"]
    cfg = train_settings(run, overrides)
    train(cfg, RunContext(output_dir=run))
    lm = load_trained(run)
    num_old = len(load_tokenizer(str(pair.original)))
    assert lm.is_adapter and len(lm.tokenizer) > num_old
    trained_base = load_base_model(cfg.model, cfg.quantization, num_old, cache_dir(cfg))
    reloaded = dict(lm.model.get_base_model().named_parameters())
    for name, param in trained_base.named_parameters():  # the base it was trained on, reloaded
        if param.dtype == torch.uint8:
            assert torch.equal(reloaded[name.replace(".weight", ".base_layer.weight")], param)
    ids = lm.tokenizer(CHINESE).input_ids
    assert sum(i >= num_old for i in ids) >= 5, "new tokens used"
    out = export_run(run, tmp_path / "merged")
    model = AutoModelForCausalLM.from_pretrained(str(out))
    tokenizer = AutoTokenizer.from_pretrained(str(out))
    assert type(model).__name__.lower().startswith(family) and not hasattr(model, "peft_config")
    assert (model.get_output_embeddings().weight is model.get_input_embeddings().weight) is tied
    assert model.config.vocab_size == len(tokenizer) == len(lm.tokenizer)
    expected = _logits(lm.model, lm.tokenizer)
    torch.testing.assert_close(_logits(model, tokenizer), expected, atol=1e-4, rtol=1e-4)
    with lm.model.disable_adapter():  # training changed the model: the check means something
        assert (_logits(lm.model, lm.tokenizer) - expected).abs().max() > 1e-3


def test_a_vocabulary_padded_to_a_multiple_reloads(tmp_path: Path, pairs) -> None:
    """``embedding_init.pad_to_multiple_of``: the adapter holds the padded rows, and reloading
    grows the base the same way before attaching it."""
    pair = pairs[FAMILIES["mistral"][1]]
    run = tmp_path / "run"
    overrides = [*family_overrides("mistral", pair), *FAST, "embedding_init.pad_to_multiple_of=64"]
    train(train_settings(run, overrides), RunContext(output_dir=run))
    lm = load_trained(run)
    rows = lm.model.get_base_model().get_input_embeddings().num_embeddings
    assert rows % 64 == 0 and len(lm.tokenizer) <= rows < len(lm.tokenizer) + 64
    assert torch.isfinite(_logits(lm.model, lm.tokenizer)).all()


def test_sample_byte_level_tokenizer_trains_the_default_run(tmp_path: Path) -> None:
    cfg = train_settings(
        tmp_path, ["model=tiny_qwen2", "tokenizer=sample_byte_level", "embedding_init=none"]
    )
    tokenizer = build_tokenizer(cfg)
    assert len(tokenizer) == 1001 and tokenizer.bos_token_id is None
    assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"
    assert documents("en.txt")
