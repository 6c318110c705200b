"""The Llama 2 chat template gives the ids and loss masks of the renderer it replaced.

``fixtures/llama2_chat_expected.json`` was written by the hand-written renderer (each prompt
and reply encoded as a text of its own) before ``llama2_chat.jinja`` replaced it: full ids and
labels of hand-made conversations (system prompt rules, whitespace, special-token text,
truncation), and one digest per conversation of real data (the shared ShareGPT and alpaca
files, the bundled SFT sample) over its ids and labels at two lengths and its generation
prompts. Llama 2's own tokenizer and the tests' sample tokenizer go through the template
path; Llama 2's SentencePiece-backed (python) tokenizer through the per-text fallback.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer, LlamaTokenizer, PreTrainedTokenizerBase

from bailong.apps.export import export_run
from bailong.apps.reload import load_trained
from bailong.core.shared_data import shared_path
from bailong.data.chat import (
    BadConversation,
    Message,
    encode_conversation,
    llama2_segments_per_text,
    normalize_conversation,
    read_conversation,
)
from bailong.data.chat_template import (
    LLAMA2_CHAT_TEMPLATE,
    carry_chat_format,
    renders_exactly,
    template_ids_and_mask,
)
from bailong.data.crosslingual import translation_conversations
from bailong.eval.generate import llama2_prompt_ids, prompt_ids
from bailong.tokenizer.load import load_tokenizer
from bailong.tokenizer.sentencepiece_backed import sentencepiece_tokenizer
from bailong.training.run import build_tokenizer
from tests.conftest import require_shared
from tests.support.data_fixtures import tokenizer
from tests.support.eval_fixtures import trained_run
from tests.support.helpers import train_settings

__all__ = ["tokenizer"]

EXPECTED = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "llama2_chat_expected.json").read_text("utf-8")
)
SAMPLE = Path(__file__).resolve().parents[2] / "bailong" / "data" / "sample"
# generation prompts that now follow the SFT rendering: the old prompt renderer stripped the
# first user turn before adding the system block, SFT after (a leading space survived there)
PROMPTS_NOW_AS_SFT = {"whitespace_1", "whitespace_3"}
SHARED_FILES = {"sharegpt": "en_sharegpt_dummy.json", "alpaca": "alpaca_zh_simplified_demo.json"}
LLAMA2_MODEL = "tokenizers/llama2/tokenizer.model"


@pytest.fixture(scope="module")
def tokenizers(tokenizer: PreTrainedTokenizerBase) -> dict[str, PreTrainedTokenizerBase]:
    """The fixture's tokenizers by its keys; ``llama2_slow`` is held to ``llama2``'s ids."""
    out = {"sample": tokenizer}
    if (path := shared_path(LLAMA2_MODEL)) is not None:
        out["llama2"] = load_tokenizer(str(path))
        slow = sentencepiece_tokenizer(path)
        slow.pad_token = slow.eos_token
        out["llama2_slow"] = slow
    return out


def _fingerprint(tok: PreTrainedTokenizerBase) -> str:
    return hashlib.sha256(tok.backend_tokenizer.to_str().encode()).hexdigest()[:16]


def _expected_key(name: str) -> str:
    return "llama2" if name == "llama2_slow" else name


def _encode(
    messages: list[Message], tok: PreTrainedTokenizerBase, max_length: int, system: str | None
) -> dict[str, Any]:
    try:
        ids, labels = encode_conversation(messages, tok, "llama2", max_length, system)
    except BadConversation as err:
        return {"error": str(err)}
    return {"ids": ids, "labels": labels}


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj).encode()).hexdigest()[:12]


def test_the_paths_under_test_are_the_ones_named(tokenizers: dict) -> None:
    """Else the comparisons below could all be testing the fallback."""
    assert renders_exactly(tokenizers["sample"])
    assert _fingerprint(tokenizers["sample"]) == EXPECTED["tokenizers"]["sample"], (
        "the sample tokenizer changed; its frozen ids no longer apply"
    )
    if "llama2" in tokenizers:
        assert renders_exactly(tokenizers["llama2"])
        assert _fingerprint(tokenizers["llama2"]) == EXPECTED["tokenizers"]["llama2"]
        assert not renders_exactly(tokenizers["llama2_slow"])  # no offsets: per text


@pytest.mark.parametrize("name", ["sample", "llama2", "llama2_slow"])
def test_hand_made_conversations_keep_their_ids_and_masks(tokenizers: dict, name: str) -> None:
    if name not in tokenizers:
        require_shared(LLAMA2_MODEL)
    compared = 0
    for case in EXPECTED["cases"]:
        expected = case["expected"].get(_expected_key(name))
        if expected is None:  # truncation lengths are per tokenizer
            continue
        messages = [tuple(m) for m in case["messages"]]
        got = _encode(messages, tokenizers[name], case["max_length"], case["system_prompt"])
        assert got == expected, case["name"]
        compared += 1
    assert compared >= 20


@pytest.mark.parametrize("name", ["sample", "llama2", "llama2_slow"])
def test_generation_prompts_keep_their_ids(tokenizers: dict, name: str) -> None:
    if name not in tokenizers:
        require_shared(LLAMA2_MODEL)
    tok = tokenizers[name]
    for case in EXPECTED["prompts"]:
        got = llama2_prompt_ids(case["messages"], tok)
        if case["name"] in PROMPTS_NOW_AS_SFT:
            assert got != case["expected"][_expected_key(name)]
            turns = [(m["role"], m["content"]) for m in case["messages"]]
            sft, _ = encode_conversation([*turns, ("assistant", "a")], tok, "llama2", 4096)
            assert got == sft[: len(got)], case["name"]
        else:
            assert got == case["expected"][_expected_key(name)], case["name"]


def _real_conversations(source: str) -> list[list[Message]]:
    entry = EXPECTED["real_data"][source]
    if source == "bundled":
        lines = (SAMPLE / "sft_zh_en.jsonl").read_text("utf-8").splitlines()
        convs = [read_conversation(json.loads(line), "openai") for line in lines if line.strip()]
        pairs = (SAMPLE / "parallel_zh_en.jsonl").read_text("utf-8").splitlines()
        for i, line in enumerate(line for line in pairs if line.strip()):
            convs += translation_conversations(json.loads(line), i, "zh", "en", "both")
        return convs
    path = require_shared(f"chat/{SHARED_FILES[source]}")
    if hashlib.sha256(path.read_bytes()).hexdigest() != entry["file_sha256"]:
        pytest.skip(f"{path} is not the file the expected ids were made from")
    return [read_conversation(r, source) for r in json.loads(path.read_text("utf-8"))]


@pytest.mark.parametrize("source", ["sharegpt", "alpaca", "bundled"])
@pytest.mark.parametrize("name", ["sample", "llama2", "llama2_slow"])
def test_real_conversations_keep_their_ids_masks_and_prompts(
    tokenizers: dict, name: str, source: str
) -> None:
    """Every conversation: ids and labels whole and truncated, and each turn's prompt."""
    if name not in tokenizers:
        require_shared(LLAMA2_MODEL)
    tok, entry = tokenizers[name], EXPECTED["real_data"][source]
    expected = entry[_expected_key(name)]
    digests, tokens, trained, prompt_tokens = [], 0, 0, 0
    for messages in _real_conversations(source):
        results: list[Any] = []
        for n in entry["max_lengths"]:
            got = _encode(messages, tok, n, None)
            results.append(got.get("error") or [got["ids"], got["labels"]])
            tokens += len(got.get("ids", ()))
            trained += sum(label != -100 for label in got.get("labels", ()))
        turns = [{"role": r, "content": c} for r, c in normalize_conversation(messages)]
        prompts = [
            llama2_prompt_ids(turns[: j + 1], tok)
            for j in range(len(turns))
            if turns[j]["role"] == "user"
        ]
        prompt_tokens += sum(map(len, prompts))
        digests.append(_digest([results, prompts]))
    pairs = zip(digests, expected["digests"], strict=True)
    differ = [i for i, (got, frozen) in enumerate(pairs) if got != frozen]
    assert differ == [], f"{len(differ)} of {len(digests)} conversations differ, e.g. #{differ[:5]}"
    assert (tokens, trained, prompt_tokens) == (
        expected["tokens"],
        expected["trained_tokens"],
        expected["prompt_tokens"],
    )


def test_a_reply_opening_with_special_token_text_is_encoded_per_text(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    """The template would give the space before ``</s>`` a token of its own there."""
    conv = [("user", "Say it"), ("assistant", "</s> is EOS"), ("user", "ok"), ("assistant", "ok")]
    ids, labels = encode_conversation(conv, tokenizer, "llama2", 1024)
    segments = llama2_segments_per_text(conv, tokenizer, None)
    assert ids == [i for s in segments for i in s.ids]
    assert labels == [i if s.trainable else -100 for s in segments for i in s.ids]


def test_saved_tokenizers_render_the_format_they_trained_with(
    tokenizers: dict, tmp_path: Path
) -> None:
    """``AutoTokenizer`` on a saved directory renders what ``encode_conversation`` trains on,
    for the fast tokenizer and the SentencePiece-backed one."""
    conv = [
        {"role": "system", "content": "你是一位有禮貌的助理。"},
        {"role": "user", "content": "今天臺北的天氣如何？"},
        {"role": "assistant", "content": "今天臺北多雲。"},
        {"role": "user", "content": "Thanks!"},
        {"role": "assistant", "content": "不客氣。"},
    ]
    turns = [(m["role"], m["content"]) for m in conv]
    for name, shared in tokenizers.items():
        tok = copy.deepcopy(shared)  # the template change stays local
        carry_chat_format(tok, "llama2")
        tok.save_pretrained(tmp_path / name)
        loaded = AutoTokenizer.from_pretrained(str(tmp_path / name))
        assert loaded.chat_template == LLAMA2_CHAT_TEMPLATE
        ids, labels = encode_conversation(turns, tok, "llama2", 4096)
        rendered = loaded.apply_chat_template(conv, tokenize=True, return_dict=True)
        assert list(rendered["input_ids"]) == ids, name
        prompt = loaded.apply_chat_template(conv[:4], tokenize=True, add_generation_prompt=True)
        assert list(prompt["input_ids"]) == llama2_prompt_ids(conv[:4], tok), name
        if loaded.is_fast:
            mask = loaded.apply_chat_template(
                conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
            )["assistant_masks"]
            assert [int(label != -100) for label in labels] == list(mask), name
        # a tokenizer carrying our template, asked for its own, renders as llama2 exactly
        assert encode_conversation(turns, loaded, "tokenizer", 4096) == (ids, labels)
        assert prompt_ids(conv[:4], loaded, "tokenizer") == llama2_prompt_ids(conv[:4], tok)


def test_byte_level_tokenizers_are_encoded_per_text(tmp_path: Path) -> None:
    """No dummy prefix: the template's reply would start with "Ġ", the old one does not."""
    byte_level = ["tokenizer=sample_byte_level", "embedding_init=none"]
    tok = build_tokenizer(train_settings(tmp_path / "run", byte_level))
    assert not renders_exactly(tok)
    conv = [("user", "Hi"), ("assistant", "Hello!"), ("user", "again"), ("assistant", "Sure.")]
    ids, labels = encode_conversation(conv, tok, "llama2", 1024)
    segments = llama2_segments_per_text(conv, tok, None)
    assert ids == [i for s in segments for i in s.ids]
    assert labels == [i if s.trainable else -100 for s in segments for i in s.ids]


def test_the_template_path_is_refused_where_it_would_not_be_exact() -> None:
    """Hugging Face's non-legacy Llama tokenizer (a hub Llama 2 by name) drops the "▁" after
    ``<s>``, so its Llama 2 chat ids come from the per-text fallback; its legacy one is exact."""
    model = require_shared(LLAMA2_MODEL)
    legacy = LlamaTokenizer.from_pretrained(str(model.parent), legacy=True)
    first = LlamaTokenizer.from_pretrained(str(model.parent), legacy=False)
    assert renders_exactly(legacy) and not renders_exactly(first)
    conv = [("user", "Hi"), ("assistant", "Hello!"), ("user", "again"), ("assistant", "Sure.")]
    ids, _ = encode_conversation(conv, first, "llama2", 1024)
    assert ids == [i for s in llama2_segments_per_text(conv, first, None) for i in s.ids]
    assert first.convert_ids_to_tokens(ids[:2]) == ["<s>", "▁["]
    template_ids, _ = template_ids_and_mask(
        [{"role": r, "content": c} for r, c in conv], first, LLAMA2_CHAT_TEMPLATE
    )
    assert first.convert_ids_to_tokens(template_ids[:2]) == ["<s>", "["]


def test_a_trained_run_and_its_export_carry_the_chat_template(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The adapter dir is saved with the template; exporting a run saved before that adds it
    from the run record; the exported dir then prompts exactly as the run does."""
    run = trained_run(tmp_path_factory.getbasetemp())
    trained = AutoTokenizer.from_pretrained(str(run / "adapter"))
    assert trained.chat_template == LLAMA2_CHAT_TEMPLATE
    old = tmp_path / "old-run"
    shutil.copytree(run / "adapter", old / "adapter")
    (old / "adapter" / "chat_template.jinja").unlink()  # as saved before the template existed
    assert AutoTokenizer.from_pretrained(str(old / "adapter")).chat_template is None
    out = export_run(old, tmp_path / "merged")
    exported = load_trained(out)
    assert exported.tokenizer.chat_template == LLAMA2_CHAT_TEMPLATE
    messages = [{"role": "system", "content": "系統"}, {"role": "user", "content": "你好"}]
    expected = llama2_prompt_ids(messages, trained)
    assert prompt_ids(messages, exported.tokenizer, exported.chat_template) == expected
