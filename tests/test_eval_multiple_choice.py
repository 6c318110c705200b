"""Multiple choice: option parsing, TMMLU/JSONL loading, k-shot prompts, forced accuracy."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from bailong.eval.multiple_choice import (
    LETTERS,
    PromptStyle,
    Question,
    accuracy_report,
    encode_pair,
    letter_prompt,
    load_jsonl,
    load_tmmlu,
    option_prompt,
    predict,
    shots,
    split_inline_options,
)
from bailong.model.reload import load_trained
from tests.conftest import require_shared
from tests.eval_fixtures import EN, ZH, trained_run


def test_split_inline_options() -> None:
    assert split_inline_options("1. 何者正確(A)甲(B)乙(C)丙(D)丁。") == (
        "1. 何者正確",
        ["甲", "乙", "丙", "丁"],
    )
    stem, opts = split_inline_options("引用「(A)」的題目？\n（A） 一 （B） 二\n(C) 三 (D) 四")
    assert stem == "引用「(A)」的題目？" and opts == ["一", "二", "三", "四"]
    assert split_inline_options("請說明其原因。（4分）") is None


def test_tmmlu_loads_every_subject() -> None:
    folder = require_shared("eval/tmmlu/subjects")
    questions, skipped = load_tmmlu(folder)
    assert len({q.subject for q in questions}) == 50
    assert len(questions) + sum(skipped.values()) == 3313
    assert len(questions) > 3200
    assert all(len(q.choices) >= 4 and 0 <= q.answer < len(q.choices) for q in questions)
    some, _ = load_tmmlu(folder, ["企業管理"], max_per_subject=3)
    assert len(some) == 3 and {q.subject for q in some} == {"企業管理"}
    with pytest.raises(ValueError, match="unknown TMMLU subjects"):
        load_tmmlu(folder, ["no-such-subject"])


def test_jsonl_layout_and_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "mc.jsonl"
    path.write_text(
        '{"question": "1+1?", "choices": ["1", "2"], "answer": 1}\n'
        '{"question": "2+2?", "choices": ["4", "5"], "answer": "A", "subject": "math"}\n',
        encoding="utf-8",
    )
    qs = load_jsonl(path)
    assert [(q.answer, q.subject) for q in qs] == [(1, "all"), (0, "math")]
    path.write_text('{"question": "q", "choices": ["a"], "answer": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"mc\.jsonl:1"):
        load_jsonl(path)


def test_k_shot_uses_other_questions_of_the_same_subject() -> None:
    qs = [Question(f"q{i}", ["x", "y"], i % 2, "s1" if i < 4 else "s2") for i in range(6)]
    examples = shots(qs[1], qs, 2)
    assert [e.question for e in examples] == ["q0", "q2"]
    prompt = letter_prompt(qs[1], examples, PromptStyle())
    assert prompt.count("問題：") == 3 and prompt.endswith("(B) y\n答案：")
    assert "q0\n(A) x\n(B) y\n答案： A" in prompt and "q2" in prompt and "q4" not in prompt
    assert option_prompt(qs[1], examples, PromptStyle()).count(" y\n\n") == 0


@pytest.fixture(scope="module")
def model_and_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    lm = load_trained(trained_run(tmp_path_factory.getbasetemp()))
    return lm.model, lm.tokenizer


def _by_hand(model, tok, context: str, continuation: str) -> float:
    """Log-likelihood of one continuation: one unpadded forward, no batching."""
    ids, n = encode_pair(tok, context, continuation, 10_000)
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    return float(sum(logp[i - 1, ids[i]] for i in range(len(ids) - n, len(ids))))


def test_accuracy_is_100_percent_when_the_answer_is_forced(model_and_tokenizer) -> None:
    """The right answer of each item is defined as the one the model scores highest, computed
    by hand; the batched, padded scorer must then get every item right, in every subject."""
    model, tok = model_and_tokenizer
    rng = random.Random(0)
    words = [w for line in ZH + EN for w in line.replace("，", " ").replace("。", " ").split()]
    style = PromptStyle()
    by_letter, by_option = [], []
    for i in range(8):
        choices = [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(4)]
        q = Question(f"{rng.choice(ZH)[:12]}？", choices, 0, f"s{i % 2}")
        lp, op = letter_prompt(q, [], style), option_prompt(q, [], style)
        letter_scores = [_by_hand(model, tok, lp, f" {LETTERS[j]}") for j in range(4)]
        option_scores = [_by_hand(model, tok, op, f" {c}") for c in choices]
        by_letter.append(
            Question(q.question, choices, letter_scores.index(max(letter_scores)), q.subject)
        )
        by_option.append(
            Question(q.question, choices, option_scores.index(max(option_scores)), q.subject)
        )
    assert len({q.answer for q in by_option}) > 1, "answers must vary for the test to mean much"
    letter_report = accuracy_report(by_letter, predict(model, tok, by_letter, batch_size=3))
    option_report = accuracy_report(by_option, predict(model, tok, by_option, batch_size=5))
    for subject in ("s0", "s1", "overall", "subject_mean"):
        assert letter_report[subject]["acc_letter"] == 1.0
        assert option_report[subject]["acc_option"] == 1.0
    assert letter_report["overall"]["n"] == 8 and letter_report["s0"]["n"] == 4
