"""MT-Bench-style two-turn benchmark: generate answers, judge them, summarize; resumable.

Files follow FastChat's ``llm_judge`` layout (MT-Bench-TW ships in it): ``question.jsonl``
(``question_id``, ``category``, ``turns``, optional ``reference``), judge prompts
(``name``, ``system_prompt``, ``prompt_template``, ``type``), reference answers
(``question_id``, ``choices[0].turns``). Answers and judgments are appended one JSON line at
a time, so a killed run resumes where it stopped: ids already in the output are skipped.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bailong.eval.judge import JudgeClient, parse_rating

Record = dict[str, Any]
# Categories graded against a reference answer (FastChat's NEED_REF_CATS).
REFERENCE_CATEGORIES = ("math", "reasoning", "coding")


def read_jsonl(path: Path) -> list[Record]:
    if not path.is_file():
        return []
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: malformed JSON ({err.msg})") from None
    return rows


def append_jsonl(path: Path, record: Record) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()


def load_questions(
    path: Path, categories: Sequence[str] = (), limit: int | None = None
) -> list[Record]:
    questions = read_jsonl(path)
    if not questions:
        raise FileNotFoundError(f"{path}: no questions")
    if categories:
        questions = [q for q in questions if q["category"] in categories]
    return questions[:limit] if limit is not None else questions


def load_references(path: Path | None, questions: Iterable[Record]) -> dict[Any, list[str]]:
    """question_id → reference turns, from the reference file, else the question's own."""
    refs = {q["question_id"]: list(q["reference"]) for q in questions if q.get("reference")}
    if path is not None:
        for row in read_jsonl(path):
            refs[row["question_id"]] = list(row["choices"][0]["turns"])
    return refs


def generate_answers(
    questions: Sequence[Record],
    answer_fn: Callable[[list[dict[str, str]]], str],
    out_path: Path,
    model_id: str,
    system_prompt: str | None = None,
) -> list[Record]:
    """Answer every turn of every question not yet in ``out_path``; returns all answers."""
    done = {row["question_id"] for row in read_jsonl(out_path)}
    for q in questions:
        if q["question_id"] in done:
            continue
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        turns = []
        for user in q["turns"]:
            messages.append({"role": "user", "content": user})
            reply = answer_fn(list(messages))
            messages.append({"role": "assistant", "content": reply})
            turns.append(reply)
        append_jsonl(
            out_path,
            {
                "question_id": q["question_id"],
                "model_id": model_id,
                "choices": [{"index": 0, "turns": turns}],
                "tstamp": time.time(),
            },
        )
    return read_jsonl(out_path)


def judge_prompt_name(category: str, turn: int, reference_categories: Sequence[str]) -> str:
    math = "-math" if category in reference_categories else ""
    return f"single{math}-v1" + ("-multi-turn" if turn == 2 else "")


def render_judge_prompt(
    template: Record, question: Record, answer_turns: list[str], reference: list[str] | None
) -> str:
    q, a, ref = question["turns"], answer_turns, reference or ["", ""]
    return template["prompt_template"].format(
        question=q[0],
        answer=a[0],
        question_1=q[0],
        question_2=q[1] if len(q) > 1 else "",
        answer_1=a[0],
        answer_2=a[1] if len(a) > 1 else "",
        ref_answer_1=ref[0],
        ref_answer_2=ref[1] if len(ref) > 1 else "",
    )


def judge_answers(
    questions: Sequence[Record],
    answers: Sequence[Record],
    prompts: dict[str, Record],
    references: dict[Any, list[str]],
    client: JudgeClient,
    out_path: Path,
    model_id: str,
    reference_categories: Sequence[str] = REFERENCE_CATEGORIES,
) -> list[Record]:
    """Single-answer grading of each (question, turn) not yet in ``out_path``."""
    done = {(row["question_id"], row["turn"]) for row in read_jsonl(out_path)}
    by_id = {a["question_id"]: a["choices"][0]["turns"] for a in answers}
    for q in questions:
        turns = by_id.get(q["question_id"])
        if turns is None:
            continue
        for turn in range(1, len(q["turns"]) + 1):
            if (q["question_id"], turn) in done:
                continue
            name = judge_prompt_name(q["category"], turn, reference_categories)
            if name not in prompts:
                raise KeyError(f"judge prompt {name!r} not in the prompts file ({sorted(prompts)})")
            template = prompts[name]
            reference = references.get(q["question_id"]) if "-math" in name else None
            user = render_judge_prompt(template, q, turns, reference)
            judgment = client.complete(template["system_prompt"], user)
            append_jsonl(
                out_path,
                {
                    "question_id": q["question_id"],
                    "category": q["category"],
                    "model": model_id,
                    "judge": [client.model, name],
                    "turn": turn,
                    "score": parse_rating(judgment),
                    "judgment": judgment,
                    "user_prompt": user,
                    "tstamp": time.time(),
                },
            )
    return read_jsonl(out_path)


def summarize(judgments: Sequence[Record]) -> dict[str, dict[str, float]]:
    """Mean score overall, per turn and per category; unparsed ratings are counted apart."""
    groups: dict[str, list[float]] = defaultdict(list)
    unparsed = 0
    for row in judgments:
        if row["score"] is None:
            unparsed += 1
            continue
        for key in ("overall", f"turn_{row['turn']}", f"category/{row['category']}"):
            groups[key].append(float(row["score"]))
    summary = {k: {"score": sum(v) / len(v), "n": float(len(v))} for k, v in sorted(groups.items())}
    summary["unparsed"] = {"n": float(unparsed)}
    return summary
