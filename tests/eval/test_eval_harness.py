"""Multiple choice through lm-evaluation-harness on a real trained run (4-bit base, LoRA,
trained embeddings): forced-answer accuracy, the long-prompt policy, progress and resume."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from bailong.apps.reload import load_trained
from bailong.eval.config import MultipleChoiceEvalConfig
from bailong.eval.harness import (
    CACHE_STEM,
    PROGRESS_FILE,
    accuracy_report,
    harness_model,
    run_subjects,
)
from bailong.eval.mc_formats import LETTERS, MCRecord
from tests.conftest import require_shared
from tests.support.eval_fixtures import EN, ZH


def _by_hand(model, tok, context: str, continuation: str) -> float:
    """Log-likelihood of one continuation: BOS + text, one unpadded forward, no batching."""
    ctx = [tok.bos_token_id, *tok(context, add_special_tokens=False)["input_ids"]]
    ids = [tok.bos_token_id, *tok(context + continuation, add_special_tokens=False)["input_ids"]]
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    return float(sum(logp[i - 1, ids[i]] for i in range(len(ctx), len(ids))))


def _questions(n: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    words = [w for line in ZH + EN for w in line.replace("，", " ").replace("。", " ").split()]
    out = []
    for _ in range(n):
        choices = [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(4)]
        out.append((f"{rng.choice(ZH)[:12]}？", choices))
    return out


def test_accuracy_is_100_percent_when_the_answer_is_forced(trained_lm, tmp_path: Path) -> None:
    """Each item's right answer is defined as the option the model scores highest, computed by
    hand; the harness (batched, padded, 4-bit + adapter) must then get every item right."""
    model, tok = trained_lm
    settings = MultipleChoiceEvalConfig(batch_size=3)
    letter_recs, option_recs = {}, {}
    for i, (question, choices) in enumerate(_questions(8)):
        subject = f"s{i % 2}"
        listed = "".join(f"({LETTERS[j]}) {c}\n" for j, c in enumerate(choices))
        letter_ctx = f"問題：{question}\n{listed}答案："
        option_ctx = f"問題：{question}\n答案："
        by_letter = [_by_hand(model, tok, letter_ctx, f" {x}") for x in "ABCD"]
        by_option = [_by_hand(model, tok, option_ctx, f" {c}") for c in choices]
        letter_recs.setdefault(subject, []).append(
            MCRecord(str(i), question, choices, by_letter.index(max(by_letter)), subject)
        )
        option_recs.setdefault(subject, []).append(
            MCRecord(str(i), question, choices, by_option.index(max(by_option)), subject)
        )
    answers = {r.answer for recs in option_recs.values() for r in recs}
    assert len(answers) > 1, "answers must vary for the test to mean much"
    fp = {"case": "forced"}
    rows = run_subjects(lambda: trained_lm, letter_recs, settings, tmp_path / "letter", fp)
    report = accuracy_report(rows)
    assert report["overall"]["acc_letter"] == 1.0 and report["overall"]["n"] == 8
    assert report["s0"]["n"] == 4 and report["long_prompts"]["n"] == 0
    rows = run_subjects(lambda: trained_lm, option_recs, settings, tmp_path / "option", fp)
    assert accuracy_report(rows)["overall"]["acc_option"] == 1.0


def _records() -> dict[str, list[MCRecord]]:
    qs = [(f"第{i}題？", ["甲", "乙", "丙", "丁"]) for i in range(6)]
    qs[1] = ("、".join(ZH), qs[1][1])  # far over a 128-token context
    return {
        "a": [MCRecord(f"a{i}", q, c, i % 4, "a") for i, (q, c) in enumerate(qs[:3])],
        "b": [MCRecord(f"b{i}", q, c, i % 4, "b") for i, (q, c) in enumerate(qs[3:])],
    }


def test_long_prompts_are_counted_then_truncated_or_skipped(trained_lm, tmp_path: Path) -> None:
    model, tok = trained_lm
    assert harness_model(model, tok, MultipleChoiceEvalConfig(max_length=10**6)).max_length == (
        model.config.max_position_embeddings
    ), "max_length is capped at the model's context"
    fp = {"case": "long"}
    cut = run_subjects(
        lambda: trained_lm, _records(), MultipleChoiceEvalConfig(max_length=128), tmp_path / "t", fp
    )
    assert [(r["n"], r["too_long"]) for r in cut] == [(3, 1), (3, 0)]
    assert cut[0]["longest_prompt"] > 128 >= cut[1]["longest_prompt"]
    assert [q["truncated"] for q in cut[0]["questions"]] == [False, True, False]
    skip = MultipleChoiceEvalConfig(max_length=128, long_prompts="skip")
    kept = run_subjects(lambda: trained_lm, _records(), skip, tmp_path / "s", fp)
    assert [(r["n"], r["too_long"]) for r in kept] == [(2, 1), (3, 0)]
    assert [q["id"] for q in kept[0]["questions"]] == ["a0", "a2"]
    report = accuracy_report(kept)
    assert report["overall"]["n"] == 5 and report["long_prompts"]["n"] == 1


class Killed(Exception):
    pass


def test_progress_is_written_per_subject_and_a_killed_run_resumes(
    trained_lm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = trained_lm
    records, settings, fp = _records(), MultipleChoiceEvalConfig(k_shot=1), {"case": "resume"}
    full = run_subjects(lambda: trained_lm, records, settings, tmp_path / "straight", fp)

    import bailong.eval.harness as harness

    real, calls = harness.score_subject, []

    def dies_on_b(hflm, cache, subject, recs, s):
        calls.append(subject)
        if subject == "b":
            raise Killed
        return real(hflm, cache, subject, recs, s)

    monkeypatch.setattr(harness, "score_subject", dies_on_b)
    out = tmp_path / "killed"
    with pytest.raises(Killed):
        run_subjects(lambda: trained_lm, records, settings, out, fp)
    lines = (out / PROGRESS_FILE).read_text("utf-8").splitlines()
    assert json.loads(lines[0]) == {"settings": fp} and json.loads(lines[1])["subject"] == "a"
    monkeypatch.setattr(harness, "score_subject", real)
    calls.clear()
    forwards = []
    hook = model.register_forward_hook(lambda *_: forwards.append(1))
    try:
        monkeypatch.setattr(harness, "score_subject", lambda *a: calls.append(a[2]) or real(*a))
        resumed = run_subjects(lambda: trained_lm, records, settings, out, fp)
        assert calls == ["b"] and forwards, "only the unfinished subject is scored again"
        assert resumed == full
        # Killed inside a subject: its scored requests come back from the harness's cache.
        (out / PROGRESS_FILE).unlink()
        forwards.clear()
        assert run_subjects(lambda: trained_lm, records, settings, out, fp) == full
        assert forwards == [] and (out / f"{CACHE_STEM}_rank0.db").is_file()
    finally:
        hook.remove()
    with pytest.raises(ValueError, match="results of other settings"):
        run_subjects(
            lambda: trained_lm, records, MultipleChoiceEvalConfig(k_shot=2), out, fp | {"k_shot": 2}
        )


def test_bos_comes_first_even_when_the_tokenizer_adds_none() -> None:
    """The reference base ships only tokenizer.model, so its tokenizer adds no BOS; the
    harness must still score BOS + text, as training and the perplexity scorer do."""
    lm = load_trained(require_shared("models/zh_byte_base_23m"))
    assert lm.tokenizer("臺灣")["input_ids"][0] != lm.tokenizer.bos_token_id
    hflm = harness_model(lm.model, lm.tokenizer, MultipleChoiceEvalConfig())
    bare = lm.tokenizer("問題：臺灣", add_special_tokens=False)["input_ids"]
    assert hflm.tok_encode("問題：臺灣") == [lm.tokenizer.bos_token_id, *bare]
    assert hflm.tok_encode("問題：臺灣", add_special_tokens=False) == bare
    assert hflm.max_length == 1024  # the model's max_position_embeddings
