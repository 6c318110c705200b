"""Multiple-choice accuracy by log-likelihood, per subject and overall (TMMLU / JSONL).

Two scorings, both reported, because they fail differently on small models:

* ``letter``: the prompt lists the options as (A)…(D) and ends with the answer cue; the
  prediction is the letter whose token(s) the model finds most likely next (MMLU style).
* ``option``: the prompt is the question alone; each option text is scored as the
  continuation, by summed log-probability (``option``) and per character (``option_norm``,
  which removes the bias towards short options).

k-shot prompts prepend the first k other questions of the same subject with their answers.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase

LETTERS = "ABCDEFGHIJ"
# "(A)", "（A）", "( A )": the inline option markers of TMMLU questions.
_MARKER = re.compile(r"[(（]\s*([A-J])\s*[)）]")


@dataclass
class Question:
    question: str
    choices: list[str]
    answer: int  # index into choices
    subject: str = "all"


def split_inline_options(text: str) -> tuple[str, list[str]] | None:
    """``"stem (A)x (B)y (C)z (D)w"`` → (stem, [x, y, z, w]); None without an A, B, C… run.

    The last run of markers A, B, C, … in order is taken, so an "(A)" quoted in the stem does
    not split it.
    """
    marks = list(_MARKER.finditer(text))
    for first in range(len(marks) - 1, -1, -1):
        if marks[first].group(1) != "A":
            continue
        run = [marks[first]]
        for m in marks[first + 1 :]:
            if m.group(1) == LETTERS[len(run)]:
                run.append(m)
        if len(run) < 2:
            continue
        stem = text[: run[0].start()].strip()
        bounds = [m.end() for m in run]
        ends = [m.start() for m in run[1:]] + [len(text)]
        pieces = [text[b:e] for b, e in zip(bounds, ends, strict=True)]
        options = [p.strip().rstrip("。.").strip() for p in pieces]
        return stem, options
    return None


def load_tmmlu(
    folder: Path, subjects: Sequence[str] = (), max_per_subject: int | None = None
) -> tuple[list[Question], dict[str, int]]:
    """TMMLU ``<subject>/data.csv`` files (columns: index, content.A = answer letter,
    content.Q = question with inline options). Returns the questions and, per subject, how
    many rows were skipped (essay questions without options, answers not among them)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no TMMLU subjects folder")
    available = sorted(p.parent.name for p in folder.glob("*/data.csv"))
    unknown = sorted(set(subjects) - set(available))
    if unknown:
        raise ValueError(f"unknown TMMLU subjects {unknown}; available: {available}")
    questions: list[Question] = []
    skipped: dict[str, int] = {}
    for subject in subjects or available:
        kept = 0
        skipped[subject] = 0
        with open(folder / subject / "data.csv", encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                parsed = split_inline_options(row["content.Q"])
                letter = row["content.A"].strip()
                if parsed is None or letter not in LETTERS[: len(parsed[1])]:
                    skipped[subject] += 1
                    continue
                if max_per_subject is not None and kept >= max_per_subject:
                    break
                questions.append(Question(parsed[0], parsed[1], LETTERS.index(letter), subject))
                kept += 1
    return questions, skipped


def load_jsonl(path: Path) -> list[Question]:
    """One ``{"question", "choices": [...], "answer": index or letter, "subject"?}`` a line."""
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        rec = json.loads(line)
        try:
            choices = [str(c) for c in rec["choices"]]
            answer = rec["answer"]
            index = LETTERS.index(answer) if isinstance(answer, str) else int(answer)
            if not 0 <= index < len(choices):
                raise ValueError(f"answer {answer!r} is not one of {len(choices)} choices")
            subject = str(rec.get("subject", "all"))
            out.append(Question(str(rec["question"]), choices, index, subject))
        except (KeyError, ValueError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: bad multiple-choice record ({err})") from None
    return out


@dataclass
class PromptStyle:
    """The words around a question; the defaults are Traditional Chinese, as in TMMLU."""

    question_prefix: str = "問題："
    answer_cue: str = "答案："

    def with_options(self, q: Question) -> str:
        options = "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(q.choices))
        return f"{self.question_prefix}{q.question}\n{options}\n{self.answer_cue}"

    def without_options(self, q: Question) -> str:
        return f"{self.question_prefix}{q.question}\n{self.answer_cue}"


def shots(q: Question, pool: Sequence[Question], k: int) -> list[Question]:
    """The first ``k`` other questions of ``q``'s subject."""
    same = [p for p in pool if p.subject == q.subject and p is not q]
    return same[:k]


def letter_prompt(q: Question, examples: Sequence[Question], style: PromptStyle) -> str:
    solved = "".join(f"{style.with_options(e)} {LETTERS[e.answer]}\n\n" for e in examples)
    return solved + style.with_options(q)


def option_prompt(q: Question, examples: Sequence[Question], style: PromptStyle) -> str:
    solved = "".join(f"{style.without_options(e)} {e.choices[e.answer]}\n\n" for e in examples)
    return solved + style.without_options(q)


def encode_pair(
    tokenizer: PreTrainedTokenizerBase, context: str, continuation: str, max_length: int
) -> tuple[list[int], int]:
    """BOS + context + continuation ids (left-cut to ``max_length``) and how many of the last
    ids are the continuation. The whole string is encoded at once so the boundary tokenizes as
    it would in running text; when that changes the context's own tokens, the two parts are
    encoded separately."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    ctx = list(tokenizer(context, add_special_tokens=False)["input_ids"])
    full = list(tokenizer(context + continuation, add_special_tokens=False)["input_ids"])
    if full[: len(ctx)] == ctx and len(full) > len(ctx):
        ids, n_cont = bos + full, len(full) - len(ctx)
    else:
        cont = list(tokenizer(continuation, add_special_tokens=False)["input_ids"])
        ids, n_cont = bos + ctx + cont, len(cont)
    if n_cont == 0:
        raise ValueError(f"continuation {continuation!r} encodes to no tokens")
    return ids[-max_length:], min(n_cont, max_length - 1)


@torch.no_grad()
def continuation_logprobs(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    pairs: Sequence[tuple[str, str]],
    batch_size: int = 8,
    max_length: int = 2048,
) -> list[float]:
    """Summed log-probability of each continuation given its context."""
    encoded = [encode_pair(tokenizer, c, x, max_length) for c, x in pairs]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    scores: list[float] = []
    for start in range(0, len(encoded), batch_size):
        batch = encoded[start : start + batch_size]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(input_ids)
        for i, (ids, _) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            mask[i, : len(ids)] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        for i, (ids, n_cont) in enumerate(batch):
            positions = torch.arange(len(ids) - n_cont, len(ids))
            targets = torch.tensor(ids[len(ids) - n_cont :])
            scores.append(float(logprobs[i, positions - 1, targets].sum()))
    return scores


@dataclass
class Predictions:
    letter: list[int]
    option: list[int]
    option_norm: list[int]


def predict(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[Question],
    k_shot: int = 0,
    style: PromptStyle | None = None,
    batch_size: int = 8,
    max_length: int = 2048,
) -> Predictions:
    """The chosen option index of every question under each scoring."""
    style = style or PromptStyle()
    letter_pairs, option_pairs, owners = [], [], []
    for qi, q in enumerate(questions):
        examples = shots(q, questions, k_shot)
        lp, op = letter_prompt(q, examples, style), option_prompt(q, examples, style)
        for i, choice in enumerate(q.choices):
            letter_pairs.append((lp, f" {LETTERS[i]}"))
            option_pairs.append((op, f" {choice}"))
            owners.append(qi)
    by_letter = continuation_logprobs(model, tokenizer, letter_pairs, batch_size, max_length)
    by_option = continuation_logprobs(model, tokenizer, option_pairs, batch_size, max_length)
    lengths = [max(len(c), 1) for _, c in option_pairs]
    by_norm = [s / n for s, n in zip(by_option, lengths, strict=True)]
    return Predictions(
        letter=_argmax_per_question(by_letter, owners, len(questions)),
        option=_argmax_per_question(by_option, owners, len(questions)),
        option_norm=_argmax_per_question(by_norm, owners, len(questions)),
    )


def _argmax_per_question(scores: list[float], owners: list[int], n: int) -> list[int]:
    best: list[tuple[float, int]] = [(-float("inf"), -1)] * n
    seen = [0] * n
    for score, qi in zip(scores, owners, strict=True):
        if score > best[qi][0]:
            best[qi] = (score, seen[qi])
        seen[qi] += 1
    return [i for _, i in best]


def accuracy_report(
    questions: Sequence[Question], predictions: Predictions
) -> dict[str, dict[str, float]]:
    """``{subject: {acc_letter, acc_option, acc_option_norm, n}}`` plus ``overall`` (pooled over
    questions) and ``subject_mean`` (the mean of subject accuracies, as TMMLU reports)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(questions):
        groups[q.subject].append(i)
    kinds = {"letter": predictions.letter, "option": predictions.option}
    kinds["option_norm"] = predictions.option_norm

    def acc(indices: list[int]) -> dict[str, float]:
        row = {
            f"acc_{name}": sum(preds[i] == questions[i].answer for i in indices) / len(indices)
            for name, preds in kinds.items()
        }
        return {**row, "n": float(len(indices))}

    report = {subject: acc(idx) for subject, idx in sorted(groups.items())}
    subjects = list(report.values())
    report["subject_mean"] = {
        key: sum(r[key] for r in subjects) / len(subjects) for key in subjects[0] if key != "n"
    } | {"n": float(len(subjects))}
    report["overall"] = acc(list(range(len(questions))))
    return report
