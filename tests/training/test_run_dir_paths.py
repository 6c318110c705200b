"""No writes outside the run directory: task_name cannot move it, eval outputs cannot climb."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from bailong.cli.train import main as train_main
from bailong.core.checks import ConfigError
from bailong.core.safe_paths import plain_name
from bailong.eval.config import validate_eval_config
from tests.support.helpers import CONF, cache_root, compose_app


@pytest.mark.parametrize("multirun", [False, True])
@pytest.mark.parametrize("name", ["../../escaped", "/tmp/escaped", "a/../../escaped", ".."])
@pytest.mark.parametrize("given_in", ["command line", "config file"])
def test_task_name_cannot_move_the_run_dir_out_of_the_log_dir(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    multirun: bool,
    given_in: str,
) -> None:
    """Hydra computes the run dir from task_name; a path there stops it before it creates any
    (on the command line with a one-line message, from a config file in the resolver)."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    argv = ["bailong-train", "paths.log_dir=logs", "trainer.max_steps=1"]
    if given_in == "config file":
        extra = tmp_path / "extra-conf"
        (extra / "named").mkdir(parents=True)
        (extra / "named" / "on.yaml").write_text(f"# @package _global_\ntask_name: '{name}'\n")
        argv += ["--config-dir", str(extra), "+named=on"]
    else:
        argv.append(f"task_name={name}")
    monkeypatch.setattr(sys, "argv", argv + (["-m"] if multirun else []))
    with pytest.raises((SystemExit, InterpolationResolutionError)) as stopped:
        train_main()
    assert getattr(stopped.value, "code", 1) != 0
    if given_in == "command line":
        assert f"task_name={name!r} is invalid" in capsys.readouterr().err
    made = sorted(str(p.relative_to(work.parent)) for p in work.parent.rglob("*"))
    assert made == ["b"], "no run directory, neither in logs/ nor where task_name points"
    assert not (tmp_path / "escaped").exists()


def test_every_shipped_task_name_is_a_plain_name() -> None:
    names = {"ablate_x-1.2"}
    for path in CONF.rglob("*.yaml"):
        loaded = OmegaConf.load(path)
        if isinstance(loaded, DictConfig) and "task_name" in loaded:
            names.add(str(loaded.task_name))
    assert len(names) > 5 and all(plain_name(name) == name for name in names)


def generation_overrides(tmp_path: Path, key: str, value: str) -> list[str]:
    questions = tmp_path / "question.jsonl"
    questions.write_text('{"question_id": 1, "category": "x", "turns": ["hi"]}\n', "utf-8")
    return [
        "eval=mt_bench_tw",
        f"model_path={tmp_path}",
        f"eval.generation.questions={questions}",
        f"eval.generation.{key}={value}",
    ]


@pytest.mark.parametrize("key", ["answers_file", "judgments_file"])
def test_eval_output_files_may_not_climb_out_with_dotdot(tmp_path: Path, key: str) -> None:
    cfg = compose_app("eval", generation_overrides(tmp_path, key, "../../x.jsonl"), str(tmp_path))
    with pytest.raises(ConfigError, match=rf"eval\.generation\.{key}='\.\./\.\./x\.jsonl'"):
        validate_eval_config(cfg)


@pytest.mark.parametrize("value", ["answers/mine.jsonl", "/abs/old_run/answers.jsonl"])
def test_eval_output_files_inside_or_absolute_are_allowed(tmp_path: Path, value: str) -> None:
    """An absolute path is deliberate: it resumes an earlier run's answers (docs/eval.md)."""
    cfg = compose_app("eval", generation_overrides(tmp_path, "answers_file", value), str(tmp_path))
    assert validate_eval_config(cfg).eval.generation.answers_file == value
