"""Does lm-evaluation-harness score TMMLU as our previous scorer did, question by question?

The previous scorer (``bailong/eval/multiple_choice.py``, deleted when multiple choice moved to
the harness) is read from git at the last commit that had it, so both run on the same model,
the same questions and the same prompts. For every question the predicted letter
(``letter``), the predicted option (``option``) and whether the per-character normalized
option was right (``option_norm``) are compared; disagreements are listed with the prompt
length, to tell a scoring difference from a truncation difference.

    python -m experiments.harness_agreement.agreement \\
        --model ../shared/data/models/zh_byte_base_23m \\
        --subjects 企業管理 冷凍空調 分科測驗地理 --per-subject 20 --k-shot 0 2

Writes ``experiments/harness_agreement/results/<model name>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from bailong.apps.reload import load_trained
from bailong.core.shared_data import shared_path
from bailong.eval.config import MultipleChoiceEvalConfig
from bailong.eval.harness import run_subjects
from bailong.eval.mc_formats import load_tmmlu

OLD_SCORER_COMMIT = "aa15e2f"  # the last main commit with bailong/eval/multiple_choice.py
RESULTS = Path(__file__).resolve().parent / "results"


def old_scorer() -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{OLD_SCORER_COMMIT}:bailong/eval/multiple_choice.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("old_multiple_choice")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "old_multiple_choice.py", "exec"), module.__dict__)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--subjects", nargs="+", default=["企業管理", "冷凍空調", "分科測驗地理"])
    parser.add_argument("--per-subject", type=int, default=20)
    parser.add_argument("--k-shot", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--dtype", default=None, help="float32 | bfloat16 (default: the model's)")
    args = parser.parse_args()

    old = old_scorer()
    lm = load_trained(args.model, dtype=args.dtype)
    records, _ = load_tmmlu(shared_path("eval/tmmlu/subjects"), args.subjects, args.per_subject)
    questions = [old.Question(r.question, r.choices, r.answer, r.subject) for r in records]
    lines = [
        f"# Harness vs previous scorer: {Path(args.model).name}",
        "",
        f"{dt.date.today()}, CPU, {len(records)} TMMLU questions ({', '.join(args.subjects)}, "
        f"first {args.per_subject} each), model context {lm.model.config.max_position_embeddings},"
        f" weights {lm.model.dtype}.",
        "",
        "| k-shot | scoring | acc previous | acc harness | same prediction | time previous | "
        "time harness |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for k in args.k_shot:
        start = time.monotonic()
        preds = old.predict(lm.model, lm.tokenizer, questions, k_shot=k, batch_size=8)
        t_old = time.monotonic() - start
        by_subject: dict[str, list] = {}
        for r in records:
            by_subject.setdefault(r.subject, []).append(r)
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as out:
            rows = run_subjects(
                lambda: (lm.model, lm.tokenizer),
                by_subject,
                MultipleChoiceEvalConfig(k_shot=k),
                Path(out),
                {"k": k},
            )
        t_new = time.monotonic() - start
        new = [q for row in rows for q in row["questions"]]
        old_norm_right = [p == q.answer for p, q in zip(preds.option_norm, questions, strict=True)]
        for name, old_vals, new_vals, answers in (
            ("letter", preds.letter, [q["letter"] for q in new], [q.answer for q in questions]),
            ("option", preds.option, [q["option"] for q in new], [q.answer for q in questions]),
            (
                "option_norm (right?)",
                old_norm_right,
                [q["option_norm_correct"] for q in new],
                [True] * len(new),
            ),
        ):
            same = sum(a == b for a, b in zip(old_vals, new_vals, strict=True))
            acc_old = sum(a == g for a, g in zip(old_vals, answers, strict=True)) / len(new)
            acc_new = sum(b == g for b, g in zip(new_vals, answers, strict=True)) / len(new)
            lines.append(
                f"| {k} | {name} | {acc_old:.3f} | {acc_new:.3f} | {same}/{len(new)} | "
                f"{t_old:.0f} s | {t_new:.0f} s |"
            )
            for i, (a, b) in enumerate(zip(old_vals, new_vals, strict=True)):
                if a != b:
                    notes.append(
                        f"- k={k} {name}: {records[i].subject} {records[i].id}: previous {a}, "
                        f"harness {b}, truncated: {new[i]['truncated']}"
                    )
        over = sum(row["too_long"] for row in rows)
        notes.append(f"- k={k}: {over} questions over the context (harness truncated them)")
    lines += ["", "Disagreements and truncation:", "", *(notes or ["- none"])]
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"{Path(args.model).name}{'-' + args.dtype if args.dtype else ''}.md"
    target.write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    print(f"written: {target}")


if __name__ == "__main__":
    main()
