"""Settings of ``bailong-eval`` (one benchmark per job: ``eval=<option>``; a multirun runs
several) and their door, ``validate_eval_config``: every path and choice checked before the
model loads. Config files name shared data as ``${shared:eval/tmmlu/subjects}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bailong.core.checks import check_choice, fail, merge_schema
from bailong.core.safe_paths import stays_inside
from bailong.core.shared_data import SHARED_NOT_FOUND
from bailong.data.config import CHAT_TEMPLATES
from bailong.eval.mc_formats import FieldMap
from bailong.model.config import DTYPES

EVAL_KINDS = ("perplexity", "multiple_choice", "generation")
MC_FORMATS = ("tmmlu", "auto", "json", "jsonl", "csv")  # auto: by the file's suffix
LONG_PROMPT_POLICIES = ("truncate", "skip")


@dataclass
class PerplexityEvalConfig:
    # language label → held-out files (.txt: blank-line documents; .jsonl: text_field)
    files: dict[str, list[str]] = field(default_factory=dict)
    text_field: str = "text"
    block_size: int = 512
    batch_size: int = 4
    max_chars: int | None = 100_000  # per file, so a run's time stays bounded


@dataclass
class MultipleChoiceEvalConfig:
    # tmmlu: a subjects folder of data.csv; auto | json | jsonl | csv: one file of records
    # (JSON object keyed by id, JSON list, JSON Lines, CSV; bailong.eval.mc_formats)
    format: str = "tmmlu"
    path: str | None = None
    fields: FieldMap = field(default_factory=FieldMap)  # null = the usual field names
    subjects: list[str] = field(default_factory=list)  # empty = all
    max_per_subject: int | None = None
    k_shot: int = 0
    question_prefix: str = "問題："
    answer_cue: str = "答案："
    batch_size: int = 8
    max_length: int | None = None  # null: the model's context (max_position_embeddings)
    long_prompts: str = "truncate"  # prompts over max_length: truncate (from the left) | skip


@dataclass
class JudgeSettings:
    enabled: bool = False
    base_url: str = "https://api.openai.com/v1"  # any OpenAI-compatible endpoint (vLLM, ...)
    model: str = "gpt-4"
    api_key_env: str | None = "OPENAI_API_KEY"  # the variable holding the key; null = none
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 2.0
    temperature: float = 0.0
    max_tokens: int = 2048
    prompts: str | None = None  # judge prompts JSONL (FastChat layout)
    reference_answers: str | None = None
    reference_categories: list[str] = field(default_factory=lambda: ["math", "reasoning", "coding"])


@dataclass
class GenerationBenchConfig:
    questions: str | None = None  # question.jsonl (FastChat layout)
    categories: list[str] = field(default_factory=list)  # empty = all
    limit: int | None = None
    model_id: str = "bailong"
    # Resumable outputs; null = <output_dir>/answers/<model_id>.jsonl and .../judgments/...
    answers_file: str | None = None
    judgments_file: str | None = None
    system_prompt: str | None = None
    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    judge: JudgeSettings = field(default_factory=JudgeSettings)


@dataclass
class EvalTaskConfig:
    kind: str = "perplexity"
    perplexity: PerplexityEvalConfig | None = None
    multiple_choice: MultipleChoiceEvalConfig | None = None
    generation: GenerationBenchConfig | None = None


@dataclass
class EvalConfig:
    task_name: str = "eval"
    tags: list[str] = field(default_factory=list)
    # A train run dir, its adapter/ dir, or a plain Hugging Face model dir (export or base).
    model_path: str | None = None
    quantize: bool | None = None  # null: as the run was trained; false: full-precision base
    dtype: str | None = None  # null: the run's model dtype
    chat_template: str | None = None  # null: what the run trained with (llama2 | tokenizer)
    paths: dict[str, Any] = field(default_factory=dict)
    eval: EvalTaskConfig = field(default_factory=EvalTaskConfig)


def _check_exists(key: str, path: str | None) -> None:
    if path is None:
        fail(key, None, "a path is required")
    if not Path(path).expanduser().exists():
        absent = SHARED_NOT_FOUND in path
        hint = " (set BAILONG_SHARED_DATA to the shared/data folder)" if absent else ""
        fail(key, path, f"no such file or directory{hint}")


def _check_eval_values(cfg: EvalConfig) -> None:
    task = cfg.eval
    check_choice("eval.kind", task.kind, EVAL_KINDS)
    section = getattr(task, task.kind)
    if section is None:
        fail(f"eval.{task.kind}", None, f"eval.kind={task.kind} needs its settings section")
    answers_given = task.kind == "generation" and section.answers_file is not None
    if cfg.model_path is None and not answers_given:
        fail("model_path", None, "set model_path=<train run dir, adapter dir or HF model dir>")
    if cfg.model_path is not None:
        _check_exists("model_path", cfg.model_path)
    if cfg.dtype is not None:
        check_choice("dtype", cfg.dtype, DTYPES)
    if cfg.chat_template is not None:
        check_choice("chat_template", cfg.chat_template, CHAT_TEMPLATES)
    if task.kind == "perplexity":
        if not section.files:
            fail("eval.perplexity.files", {}, "map at least one language to held-out files")
        for lang, paths in section.files.items():
            for i, path in enumerate(paths):
                _check_exists(f"eval.perplexity.files.{lang}[{i}]", path)
        if section.block_size < 2:
            fail("eval.perplexity.block_size", section.block_size, "must be at least 2")
    elif task.kind == "multiple_choice":
        check_choice("eval.multiple_choice.format", section.format, MC_FORMATS)
        check_choice(
            "eval.multiple_choice.long_prompts", section.long_prompts, LONG_PROMPT_POLICIES
        )
        if section.max_length is not None and section.max_length < 2:
            fail("eval.multiple_choice.max_length", section.max_length, "must be at least 2")
        _check_exists("eval.multiple_choice.path", section.path)
        if section.k_shot < 0:
            fail("eval.multiple_choice.k_shot", section.k_shot, "must be >= 0")
    else:
        _check_exists("eval.generation.questions", section.questions)
        _check_output_files(section)
        if section.judge.enabled:
            _check_exists("eval.generation.judge.prompts", section.judge.prompts)
            if section.judge.reference_answers is not None:
                _check_exists(
                    "eval.generation.judge.reference_answers", section.judge.reference_answers
                )
    for key in ("batch_size", "max_new_tokens"):
        if hasattr(section, key) and getattr(section, key) <= 0:
            fail(f"eval.{task.kind}.{key}", getattr(section, key), "must be a positive integer")


def _check_output_files(section: GenerationBenchConfig) -> None:
    """answers_file/judgments_file: absolute paths are deliberate (resume an earlier run's
    files); a relative one may not climb out of the current directory with '..'."""
    for key in ("answers_file", "judgments_file"):
        value = getattr(section, key)
        if value is not None and not Path(value).is_absolute() and not stays_inside(value):
            fail(f"eval.generation.{key}", value, "may not contain '..'; use an absolute path")


def validate_eval_config(cfg: DictConfig) -> EvalConfig:
    """The eval app's door: a typed, checked EvalConfig, or a ConfigError naming the problem."""
    settings = merge_schema(EvalConfig, cfg)
    _check_eval_values(settings)
    return settings
