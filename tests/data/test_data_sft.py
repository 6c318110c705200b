"""SFT rendering: the loss mask, truncation, packing isolation, translation instructions."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from transformers import PreTrainedTokenizerBase

from bailong.apps.data_report import show_loss_mask
from bailong.data.chat import BadConversation, encode_conversation
from bailong.data.crosslingual import translation_conversations
from bailong.data.pack import IGNORE_INDEX, pack_examples
from bailong.data.sft import pad_collate, sft_examples
from bailong.training.run import RunContext, train
from tests.support.data_fixtures import attention_check_model, tokenizer
from tests.support.helpers import train_settings

__all__ = ["tokenizer"]

THREE_TURNS = [
    ("system", "你是一位有禮貌的助理。"),
    ("user", "今天臺北的天氣如何？"),
    ("assistant", "今天臺北多雲，午後可能有陣雨。"),
    ("user", "Should I bring an umbrella?"),
    ("assistant", "Yes, a small umbrella is a good idea."),
    ("user", "謝謝！"),
    ("assistant", "不客氣，祝你有美好的一天。"),
]

# A ChatML-style template, the kind many tokenizers ship (set on the test tokenizer).
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def trained_spans(ids: list[int], labels: list[int]) -> list[list[int]]:
    spans: list[list[int]] = []
    for i, (tok, lab) in enumerate(zip(ids, labels, strict=True)):
        if lab == IGNORE_INDEX:
            continue
        assert lab == tok, "a label that is not -100 must equal the input id"
        if i == 0 or labels[i - 1] == IGNORE_INDEX:
            spans.append([])
        spans[-1].append(tok)
    return spans


def test_llama2_labels_cover_exactly_the_assistant_turns(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    ids, labels = encode_conversation(THREE_TURNS, tokenizer, "llama2", 1024)
    spans = trained_spans(ids, labels)
    answers = [c for r, c in THREE_TURNS if r == "assistant"]
    assert len(spans) == 3
    for span, answer in zip(spans, answers, strict=True):
        assert span[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(span[:-1]).strip() == answer
    masked = tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab == -100])
    for role, content in THREE_TURNS:
        assert (content in masked) == (role != "assistant"), (role, content)
    assert "[INST]" in masked and "<<SYS>>" in masked and ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == 3  # one <s> per exchange, Llama 2 style


def test_tokenizer_chat_template_labels_cover_the_assistant_turns(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    tok = copy.deepcopy(tokenizer)  # the fixture is shared; the template change is local
    tok.chat_template = CHATML
    ids, labels = encode_conversation(THREE_TURNS, tok, "tokenizer", 1024)
    spans = trained_spans(ids, labels)
    answers = [c for r, c in THREE_TURNS if r == "assistant"]
    assert [tok.decode(s).replace("<|im_end|>", "").strip() for s in spans] == answers
    masked = tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab == -100])
    assert all(c in masked for r, c in THREE_TURNS if r != "assistant")
    assert "<|im_start|>assistant" in masked  # the generation prompt is not trained


def test_tokenizer_template_missing_is_a_clear_error(tokenizer: PreTrainedTokenizerBase) -> None:
    with pytest.raises(ValueError, match="has no chat_template"):
        encode_conversation(THREE_TURNS, tokenizer, "tokenizer", 1024)


def test_truncation_keeps_whole_exchanges(tokenizer: PreTrainedTokenizerBase) -> None:
    full_ids, _ = encode_conversation(THREE_TURNS, tokenizer, "llama2", 1024)
    two, _ = encode_conversation(THREE_TURNS[:5], tokenizer, "llama2", 1024)
    ids, labels = encode_conversation(THREE_TURNS, tokenizer, "llama2", len(full_ids) - 1)
    assert ids == two and len(trained_spans(ids, labels)) == 2
    with pytest.raises(BadConversation, match="over-long conversation"):
        encode_conversation(THREE_TURNS, tokenizer, "llama2", 8)


def test_packing_never_crosses_examples_in_loss_or_attention(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    convs = [THREE_TURNS, THREE_TURNS[:3], [("user", "Hi"), ("assistant", "Hello!")]]
    examples = [encode_conversation(c, tokenizer, "llama2", 200) for c in convs]
    lengths = [len(ids) for ids, _ in examples]
    # a block the 1st example fills alone and the 2nd and 3rd share, whatever the tokenizer
    block = max(lengths[0], lengths[1] + lengths[2]) + 1
    assert lengths[0] + lengths[1] > block, "fixture texts: the first two must not fit together"
    rows = list(pack_examples(examples, block, tokenizer.pad_token_id))
    assert len(rows) == 2
    row = rows[1]  # holds the 2nd and 3rd examples back to back, then padding
    pos = row["position_ids"].tolist()
    starts = [i for i, p in enumerate(pos) if p == 0]
    assert starts[:2] == [0, len(examples[1][0])]
    # loss: the shifted target of every example's first token is -100 (never predicted
    # from the previous example), padding has no loss
    for s in starts:
        assert row["labels"][s] == IGNORE_INDEX
    # attention: logits of each packed example equal the logits of that example alone
    model = attention_check_model(len(tokenizer))
    batch = pad_collate([row], tokenizer.pad_token_id)  # exactly what training feeds
    batch.pop("labels")
    with torch.no_grad():
        packed = model(**batch).logits[0]
        n0 = len(examples[1][0])
        alone = [model(input_ids=torch.tensor([ids])).logits[0] for ids, _ in examples[1:]]
        torch.testing.assert_close(packed[:n0], alone[0])
        torch.testing.assert_close(packed[n0 : n0 + len(examples[2][0])], alone[1])
        # the HF default (a KV cache) ignores the packing: the check above has teeth
        leaky = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits[0]
        assert not torch.allclose(leaky[n0 : n0 + len(examples[2][0])], alone[1], atol=1e-4)


def test_translation_instructions_from_parallel_pairs() -> None:
    record = {"zh": "請問最近的郵局在哪裡？", "en": "Where is the nearest post office?"}
    both = translation_conversations(record, 0, "zh", "en", "both")
    assert [c[-1][1] for c in both] == [record["en"], record["zh"]]
    assert record["zh"] in both[0][0][1] and record["en"] in both[1][0][1]
    assert len(translation_conversations(record, 1, "zh", "en", "en2zh")) == 1
    bilingual_sft = {"instruction_zh": "說明雜湊", "instruction_en": "Explain hashing"}
    conv = translation_conversations(bilingual_sft, 0, "instruction_zh", "instruction_en", "zh2en")
    assert conv[0][1] == ("assistant", "Explain hashing")
    with pytest.raises(BadConversation, match="no field 'en'"):
        translation_conversations({"zh": "甲"}, 0, "zh", "en", "both")


def test_sft_sample_mix_holds_its_token_shares_and_masks(
    tmp_path: Path, tokenizer: PreTrainedTokenizerBase
) -> None:
    cfg = train_settings(tmp_path, ["data=sft_sample", "data.train_items=400"])
    examples, report = sft_examples(cfg.data, tokenizer, cfg.seed, "train")
    assert len(examples) == 400
    for row in report.mix.rows():
        assert abs(row["realized"] - row["target"]) < 0.02, row
    ids, labels = examples[0]
    shown = show_loss_mask(ids, labels, tokenizer)
    assert "{+" in shown and "[/INST]" in shown


@pytest.mark.parametrize("pack", [False, True])
def test_sft_training_runs_on_the_bundled_sample(tmp_path: Path, pack: bool) -> None:
    cfg = train_settings(
        tmp_path,
        [
            "data=sft_sample",
            "stage=sft",
            f"data.chat.pack={pack}",
            "data.block_size=256",
            "debug=fast_dev_run",
            "callbacks.progress_bar=none",
        ],
    )
    metrics = train(cfg, RunContext(output_dir=tmp_path))
    assert torch.isfinite(torch.tensor(metrics["train/loss"]))
