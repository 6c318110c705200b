"""Multiple-choice accuracy through EleutherAI's lm-evaluation-harness, per subject, resumable.

The harness does the scoring (prompt rendering with k-shot examples, log-likelihood of each
choice, ``acc``/``acc_norm``); bailong supplies what the harness has no notion of:

* the model: a trained run (4-bit base + adapter + extended vocabulary) reloaded by
  ``load_trained`` and handed to the harness's ``HFLM`` as an initialized model, with BOS
  always first as in training (``harness_lm.py``);
* the data: records parsed strictly by :mod:`bailong.eval.mc_formats` (the harness would load
  local JSON only through ``datasets``, which neither reads TCIC's id-keyed objects nor names
  the bad record) and given to the shipped task definitions (``tasks/mc_*.yaml``);
* an explicit long-prompt policy: prompts longer than the context are counted, then either cut
  from the left (what the harness does, with one log line per request) or left out;
* progress and resume: subjects run one at a time, each finished subject is appended to
  ``mc_progress.jsonl`` (with its per-question predictions), and every scored request is kept
  in the harness's request cache (``lm_cache_rank0.db``), so a killed run restarts where it
  stopped, even inside a subject.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from bailong.eval.config import MultipleChoiceEvalConfig
from bailong.eval.mc_formats import LETTERS, MCRecord

TASKS_DIR = Path(__file__).with_name("tasks")
SCORINGS = ("letter", "option")
PROGRESS_FILE = "mc_progress.jsonl"
CACHE_STEM = "lm_cache"  # the harness names the file lm_cache_rank0.db


def task_config(
    scoring: str, subject: str, records: Sequence[MCRecord], settings: MultipleChoiceEvalConfig
) -> dict[str, Any]:
    """The shipped task definition for ``scoring``, filled in with one subject's records."""
    config = yaml.safe_load((TASKS_DIR / f"mc_{scoring}.yaml").read_text("utf-8"))
    docs = [
        {
            "id": r.id,
            "question": r.question,
            "choices": r.choices,
            "letters": list(LETTERS[: len(r.choices)]),
            "answer": r.answer,
            "question_prefix": settings.question_prefix,
            "answer_cue": settings.answer_cue,
        }
        for r in records
    ]

    def dataset(**_: Any) -> dict[str, Any]:
        import datasets

        return {"test": datasets.Dataset.from_list(docs)}

    return config | {
        "task": f"bailong_{scoring}:{subject}",
        "custom_dataset": dataset,
        "num_fewshot": settings.k_shot,
    }


def context_length(model: Any) -> int:
    """Positions the model can attend to (``max_position_embeddings``)."""
    from lm_eval.models.utils import resolve_max_length

    return int(resolve_max_length(model.config))


def harness_model(model: Any, tokenizer: Any, settings: MultipleChoiceEvalConfig) -> Any:
    """The harness's HF model around an already loaded (quantized, adapted) model."""
    from bailong.eval.harness_lm import BosFirstHFLM

    limit = context_length(model)
    max_length = min(settings.max_length or limit, limit)
    with _quiet_harness():  # it warns that an initialized model skips its loading options
        return BosFirstHFLM(
            pretrained=model,
            tokenizer=tokenizer,
            batch_size=settings.batch_size,
            max_length=max_length,
            softmax_dtype="float32",  # bf16 log-probabilities tie on small models
        )


@contextmanager
def _quiet_harness() -> Iterator[None]:
    """The harness logs a warning per task and per truncated request; bailong counts and
    reports those itself, so only errors pass while it runs."""
    logger = logging.getLogger("lm_eval")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def prompt_tokens(hflm: Any, task: Any) -> dict[int, int]:
    """doc id → tokens the model reads for its longest request (context + continuation, the
    last token excluded), the quantity the harness cuts to ``max_length``."""
    task.build_all_requests(rank=0, world_size=1)
    longest: dict[int, int] = {}
    for inst in task.instances:
        context, continuation = inst.args
        n = len(hflm.tok_encode(context + continuation)) - 1
        longest[inst.doc_id] = max(longest.get(inst.doc_id, 0), n)
    return longest


def _argmax(responses: Sequence[Any]) -> int:
    scores = [r[0] if isinstance(r, (list, tuple)) else r for r in responses]
    return max(range(len(scores)), key=scores.__getitem__)


def score_subject(
    hflm: Any,
    cache: Path,
    subject: str,
    records: Sequence[MCRecord],
    settings: MultipleChoiceEvalConfig,
) -> dict[str, Any]:
    """Accuracy of one subject under both scorings, with per-question predictions."""
    from lm_eval.api.model import CachingLM
    from lm_eval.evaluator import evaluate
    from lm_eval.tasks import TaskManager, get_task_dict

    configs = [task_config(s, subject, records, settings) for s in SCORINGS]
    with _quiet_harness():
        # no built-in tasks: indexing the harness's thousands of task files takes ~20 s
        task_dict = get_task_dict(configs, TaskManager(include_defaults=False))
        names = [c["task"] for c in configs]
        tokens: dict[int, int] = {}
        for name in names:
            for doc, n in prompt_tokens(hflm, task_dict[name]).items():
                tokens[doc] = max(tokens.get(doc, 0), n)
        too_long = sorted(d for d, n in tokens.items() if n > hflm.max_length)
        kept = [
            d
            for d in range(len(records))
            if settings.long_prompts == "truncate" or d not in too_long
        ]
        row: dict[str, Any] = {
            "subject": subject,
            "n": len(kept),
            "too_long": len(too_long),
            "longest_prompt": max(tokens.values(), default=0),
        }
        if not kept:
            return row | {"questions": []}
        cached = CachingLM(hflm, str(cache.parent / f"{cache.name}_rank0.db"))
        try:
            out = evaluate(
                lm=cached,
                task_dict=task_dict,
                samples=None if len(kept) == len(records) else dict.fromkeys(names, kept),
                bootstrap_iters=0,
                log_samples=True,
            )
        finally:
            cached.dbdict.close()
    assert out is not None
    letter, option = (out["results"][n] for n in names)
    row |= {
        "acc_letter": letter["acc,none"],
        "acc_option": option["acc,none"],
        "acc_option_norm": option["acc_norm,none"],
    }
    by_doc = {name: {s["doc_id"]: s for s in out["samples"][name]} for name in names}
    row["questions"] = [
        {
            "id": records[d].id,
            "answer": records[d].answer,
            "letter": _argmax(by_doc[names[0]][d]["filtered_resps"]),
            "option": _argmax(by_doc[names[1]][d]["filtered_resps"]),
            "option_norm_correct": bool(by_doc[names[1]][d]["acc_norm"]),
            "truncated": d in too_long,
        }
        for d in kept
    ]
    return row


def read_progress(path: Path, fingerprint: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Finished subjects of an earlier, interrupted run with the same settings."""
    if not path.is_file():
        return {}
    lines = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
    if not lines or lines[0].get("settings") != dict(fingerprint):
        raise ValueError(
            f"{path} holds results of other settings ({lines[0].get('settings') if lines else None}"
            f" vs {dict(fingerprint)}); evaluate in a new output directory or delete it"
        )
    return {row["subject"]: row for row in lines[1:]}


def _append(path: Path, record: Mapping[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()


def run_subjects(
    load_lm: Callable[[], tuple[Any, Any]],
    by_subject: Mapping[str, Sequence[MCRecord]],
    settings: MultipleChoiceEvalConfig,
    output_dir: Path,
    fingerprint: Mapping[str, Any],
    console: Console | None = None,
) -> list[dict[str, Any]]:
    """Score every subject not yet in ``mc_progress.jsonl``, appending each as it finishes;
    prints progress with the time left. Returns the rows of all subjects."""
    console = console or Console(stderr=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    progress = output_dir / PROGRESS_FILE
    done = read_progress(progress, fingerprint)
    if not progress.is_file():
        _append(progress, {"settings": dict(fingerprint)})
    todo = [s for s in by_subject if s not in done]
    total = sum(len(by_subject[s]) for s in todo)
    if done:
        console.print(f"resuming: {len(done)} subjects already in {progress}", soft_wrap=True)
    hflm, scored, start = None, 0, time.monotonic()
    for i, subject in enumerate(todo, start=1):
        if hflm is None:
            hflm = harness_model(*load_lm(), settings)
        records = by_subject[subject]
        row = score_subject(hflm, output_dir / CACHE_STEM, subject, records, settings)
        _append(progress, row)
        done[subject] = row
        scored += len(records)
        elapsed = time.monotonic() - start
        left = elapsed / scored * (total - scored)
        accuracy = f"acc_letter {row['acc_letter']:.3f}" if row["n"] else "no question fits"
        console.print(
            f"[{i}/{len(todo)}] {subject}: {len(records)} questions, {accuracy}, "
            f"{row['too_long']} over {hflm.max_length} tokens; {scored}/{total} questions "
            f"in {elapsed:.0f} s, about {left:.0f} s left",
            soft_wrap=True,
        )
    return [done[s] for s in by_subject]


def accuracy_report(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``{subject: {acc_letter, acc_option, acc_option_norm, n}}``, ``overall`` (pooled over
    questions), ``subject_mean`` (the mean of subject accuracies, as TMMLU reports) and
    ``long_prompts`` (questions over the context, and the longest prompt in tokens)."""
    keys = ("acc_letter", "acc_option", "acc_option_norm")
    scored = [r for r in rows if r["n"]]
    if not scored:
        raise ValueError("no question fits the model's context; nothing was scored")
    report = {r["subject"]: {k: float(r[k]) for k in keys} | {"n": float(r["n"])} for r in scored}
    n = sum(r["n"] for r in scored)
    report["subject_mean"] = {k: sum(r[k] for r in scored) / len(scored) for k in keys} | {
        "n": float(len(scored))
    }
    report["overall"] = {k: sum(r[k] * r["n"] for r in scored) / n for k in keys} | {"n": float(n)}
    report["long_prompts"] = {
        "n": float(sum(r["too_long"] for r in rows)),
        "longest": float(max(r["longest_prompt"] for r in rows)),
    }
    return report
