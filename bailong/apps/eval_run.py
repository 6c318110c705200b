"""The eval task: validated EvalConfig → model → one benchmark → ``results.json``.

Returns flat ``{metric: value}`` (e.g. ``zh/bits_per_char``, ``overall/acc_letter``,
``judge/overall``) so the CLI can hand one to a sweeper and the table can print them all.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from functools import cache
from pathlib import Path

from bailong.apps.reload import LoadedModel, load_trained
from bailong.eval.config import (
    EvalConfig,
    GenerationBenchConfig,
    MultipleChoiceEvalConfig,
    PerplexityEvalConfig,
)
from bailong.eval.generate import GenerationSettings, generate_reply
from bailong.eval.harness import accuracy_report, run_subjects
from bailong.eval.judge import JudgeClient
from bailong.eval.mc_formats import MCRecord, load_file, load_tmmlu
from bailong.eval.mt_bench import (
    generate_answers,
    judge_answers,
    load_questions,
    load_references,
    read_jsonl,
    summarize,
)
from bailong.eval.perplexity import perplexity_by_language

RESULTS_FILE = "results.json"


def flatten(nested: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{group}/{key}": value for group, row in nested.items() for key, value in row.items()}


def _load(cfg: EvalConfig) -> LoadedModel:
    assert cfg.model_path is not None
    return load_trained(cfg.model_path, quantize=cfg.quantize, dtype=cfg.dtype)


def run_perplexity(cfg: EvalConfig, section: PerplexityEvalConfig) -> dict[str, dict[str, float]]:
    lm = _load(cfg)
    files = {lang: [Path(p).expanduser() for p in paths] for lang, paths in section.files.items()}
    return perplexity_by_language(
        lm.model,
        lm.tokenizer,
        files,
        block_size=section.block_size,
        batch_size=section.batch_size,
        max_chars=section.max_chars,
        text_field=section.text_field,
    )


def load_mc_records(section: MultipleChoiceEvalConfig) -> tuple[list[MCRecord], int]:
    """The configured questions (strictly parsed) and how many essay questions were skipped."""
    assert section.path is not None
    path = Path(section.path).expanduser()
    if section.format == "tmmlu":
        records, skipped = load_tmmlu(path, section.subjects, section.max_per_subject)
        return records, sum(skipped.values())
    records = load_file(path, section.format, section.fields)
    if section.subjects:
        records = [r for r in records if r.subject in section.subjects]
    if section.max_per_subject is not None:
        taken: Counter[str] = Counter()
        kept = []
        for record in records:
            taken[record.subject] += 1
            if taken[record.subject] <= section.max_per_subject:
                kept.append(record)
        records = kept
    return records, 0


def run_multiple_choice(
    cfg: EvalConfig, section: MultipleChoiceEvalConfig, output_dir: Path
) -> dict[str, dict[str, float]]:
    records, skipped = load_mc_records(section)
    if not records:
        raise ValueError(f"{section.path}: no questions to score (subjects={section.subjects})")
    by_subject: dict[str, list[MCRecord]] = {}
    for record in records:
        by_subject.setdefault(record.subject, []).append(record)
    # what a resumed run must share with the one it resumes; not the subjects: progress is
    # kept per subject, so a resumed run may name more or fewer of them
    fingerprint = {"model_path": cfg.model_path, **asdict(section)}
    del fingerprint["subjects"]

    def load() -> tuple[object, object]:
        lm = _load(cfg)
        return lm.model, lm.tokenizer

    rows = run_subjects(load, by_subject, section, output_dir, fingerprint)
    return accuracy_report(rows) | {"skipped": {"n": float(skipped)}}


def run_generation(
    cfg: EvalConfig, section: GenerationBenchConfig, output_dir: Path
) -> dict[str, dict[str, float]]:
    assert section.questions is not None
    questions = load_questions(Path(section.questions), section.categories, section.limit)
    answers_file = Path(
        section.answers_file or output_dir / "answers" / f"{section.model_id}.jsonl"
    ).expanduser()
    settings = GenerationSettings(
        section.max_new_tokens, section.temperature, section.top_p, section.repetition_penalty
    )

    @cache
    def model() -> LoadedModel:  # loaded only when some question is still unanswered
        return _load(cfg)

    def answer(messages: list[dict[str, str]]) -> str:
        lm = model()
        template = cfg.chat_template or lm.chat_template
        return generate_reply(lm.model, lm.tokenizer, messages, template, settings)

    judge = section.judge
    client = None
    if judge.enabled:  # key and endpoint checked before any answer is generated
        client = JudgeClient.from_env(
            judge.api_key_env,
            base_url=judge.base_url,
            model=judge.model,
            timeout_s=judge.timeout_s,
            max_retries=judge.max_retries,
            backoff_s=judge.backoff_s,
            temperature=judge.temperature,
            max_tokens=judge.max_tokens,
        )
        client.check()
    answers = generate_answers(
        questions, answer, answers_file, section.model_id, section.system_prompt
    )
    report = {"answers": {"n": float(len(answers))}}
    if client is None:
        return report
    assert judge.prompts is not None
    prompts = {p["name"]: p for p in read_jsonl(Path(judge.prompts)) if p.get("type") == "single"}
    refs_path = Path(judge.reference_answers) if judge.reference_answers else None
    judgments_file = Path(
        section.judgments_file or output_dir / "judgments" / f"{section.model_id}.jsonl"
    ).expanduser()
    judgments = judge_answers(
        questions,
        answers,
        prompts,
        load_references(refs_path, questions),
        client,
        judgments_file,
        section.model_id,
        judge.reference_categories,
    )
    return report | {f"judge/{k}": v for k, v in summarize(judgments).items()}


def evaluate(cfg: EvalConfig, output_dir: Path) -> dict[str, float]:
    """Run the configured benchmark; writes ``results.json`` to ``output_dir``."""
    task = cfg.eval
    if task.kind == "perplexity":
        assert task.perplexity is not None
        nested = run_perplexity(cfg, task.perplexity)
    elif task.kind == "multiple_choice":
        assert task.multiple_choice is not None
        nested = run_multiple_choice(cfg, task.multiple_choice, output_dir)
    else:
        assert task.generation is not None
        nested = run_generation(cfg, task.generation, output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    record = {"model_path": cfg.model_path, "kind": task.kind, "results": nested}
    (output_dir / RESULTS_FILE).write_text(
        json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return flatten(nested)
