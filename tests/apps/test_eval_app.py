"""The bailong-eval app: every eval option composes and validates; each kind runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import DictConfig

from bailong.apps.eval_run import RESULTS_FILE, evaluate
from bailong.core.checks import ConfigError
from bailong.eval.config import validate_eval_config
from bailong.eval.harness import PROGRESS_FILE
from bailong.eval.judge import JudgeError
from tests.eval.test_eval_judge import client_for, server  # noqa: F401 - the local judge fixture
from tests.support.eval_fixtures import EN, ZH, trained_run
from tests.support.helpers import compose_app, group_options


def compose_eval(overrides: list[str]) -> DictConfig:
    """The eval config as the CLI composes it (outside a Hydra run, paths point at /tmp)."""
    return compose_app("eval", overrides, "/tmp/bailong-eval-test")


@pytest.mark.parametrize("option", group_options("eval"))
def test_every_eval_option_validates_or_names_the_missing_path(option: str, tmp_path: Path) -> None:
    cfg = compose_eval([f"eval={option}", f"model_path={tmp_path}"])
    try:
        settings = validate_eval_config(cfg)
    except ConfigError as err:  # shared data absent, or a path the user must give
        assert "path" in str(err) or "no such file" in str(err), err
    else:
        assert settings.eval.kind in ("perplexity", "multiple_choice", "generation")


def test_bad_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model_path"):
        validate_eval_config(compose_eval([]))
    with pytest.raises(ConfigError, match=r"eval\.kind"):
        validate_eval_config(compose_eval([f"model_path={tmp_path}", "eval.kind=bleu"]))


def test_perplexity_and_multiple_choice_run(tmp_path_factory, tmp_path: Path) -> None:
    run = trained_run(tmp_path_factory.getbasetemp())
    (tmp_path / "zh.txt").write_text("\n\n".join(ZH), encoding="utf-8")
    (tmp_path / "en.txt").write_text("\n\n".join(EN), encoding="utf-8")
    cfg = compose_eval(
        [
            f"model_path={run}",
            f"eval.perplexity.files={{zh: [{tmp_path}/zh.txt], en: [{tmp_path}/en.txt]}}",
        ]
    )
    metrics = evaluate(validate_eval_config(cfg), tmp_path / "out")
    assert metrics["zh/bits_per_char"] > 0 and metrics["en/chars"] == sum(map(len, EN))
    saved = json.loads((tmp_path / "out" / RESULTS_FILE).read_text("utf-8"))
    assert saved["results"]["all"]["bits_per_char"] == metrics["all/bits_per_char"]

    fixtures = Path(__file__).parents[1] / "fixtures" / "mc"
    for overrides, n in (
        (["eval=mc_file", f"eval.multiple_choice.path={fixtures}/tcic.json"], 3),
        (["eval=tmmlu", f"eval.multiple_choice.path={fixtures}/tmmlu"], 5),
    ):
        out = tmp_path / overrides[0]
        cfg = compose_eval([f"model_path={run}", *overrides, "eval.multiple_choice.k_shot=1"])
        metrics = evaluate(validate_eval_config(cfg), out)
        assert metrics["overall/n"] == n and metrics["long_prompts/n"] == 0
        assert 0.0 <= metrics["overall/acc_letter"] <= 1.0
        saved = json.loads((out / RESULTS_FILE).read_text("utf-8"))["results"]
        assert saved["overall"]["acc_option"] == metrics["overall/acc_option"]
        assert (out / PROGRESS_FILE).is_file()
    assert metrics["skipped/n"] == 1 and metrics["地理/n"] == 3  # TMMLU's essay question


def test_judge_key_and_endpoint_are_checked_before_any_answer(
    tmp_path: Path,
    server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No model is loaded and no answer written when the judge cannot work (model_path is an
    empty folder: loading it would fail differently)."""
    questions = tmp_path / "question.jsonl"
    questions.write_text('{"question_id": 1, "category": "writing", "turns": ["寫"]}', "utf-8")
    prompts = tmp_path / "judge_prompts.jsonl"
    prompts.write_text("", "utf-8")
    base = [
        f"model_path={tmp_path}",
        "eval=mt_bench_tw",
        f"eval.generation.questions={questions}",
        "eval.generation.judge.enabled=true",
        f"eval.generation.judge.base_url={client_for(server).base_url}",
        f"eval.generation.judge.prompts={prompts}",
        "eval.generation.judge.reference_answers=null",
        "eval.generation.judge.api_key_env=BAILONG_TEST_JUDGE_KEY",
    ]
    monkeypatch.delenv("BAILONG_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(JudgeError, match="BAILONG_TEST_JUDGE_KEY is not set"):
        evaluate(validate_eval_config(compose_eval(base)), tmp_path / "out")
    monkeypatch.setenv("BAILONG_TEST_JUDGE_KEY", "wrong")
    server.status = 401
    with pytest.raises(JudgeError, match="rejected the key"):
        evaluate(validate_eval_config(compose_eval(base)), tmp_path / "out")
    assert not (tmp_path / "out" / "answers").exists()


def test_mt_bench_generates_judges_and_resumes(tmp_path_factory, tmp_path: Path, server) -> None:  # noqa: F811
    run = trained_run(tmp_path_factory.getbasetemp())
    questions = tmp_path / "question.jsonl"
    qs = [
        {"question_id": 81, "category": "writing", "turns": ["寫一句話。", "再短一點。"]},
        {
            "question_id": 111,
            "category": "math",
            "turns": ["1+1=?", "2+2=?"],
            "reference": ["2", "4"],
        },
    ]
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in qs), "utf-8")
    prompts = tmp_path / "judge_prompts.jsonl"
    names = ("single-v1", "single-v1-multi-turn", "single-math-v1", "single-math-v1-multi-turn")
    prompts.write_text(
        "\n".join(
            json.dumps(
                {"name": n, "type": "single", "system_prompt": "s", "prompt_template": "{answer}"}
            )
            for n in names
        ),
        "utf-8",
    )
    judge = client_for(server)
    overrides = [
        f"model_path={run}",
        "eval=mt_bench_tw",
        f"eval.generation.questions={questions}",
        "eval.generation.max_new_tokens=4",
        "eval.generation.judge.enabled=true",
        f"eval.generation.judge.base_url={judge.base_url}",
        f"eval.generation.judge.prompts={prompts}",
        "eval.generation.judge.reference_answers=null",
        "eval.generation.judge.api_key_env=null",
        "eval.generation.judge.backoff_s=0.01",
    ]
    settings = validate_eval_config(compose_eval(overrides))
    metrics = evaluate(settings, tmp_path / "out")
    answers = [
        json.loads(x)
        for x in (tmp_path / "out/answers/bailong.jsonl").read_text("utf-8").splitlines()
    ]
    assert [len(a["choices"][0]["turns"]) for a in answers] == [2, 2]
    assert metrics["judge/overall/score"] == 7.0 and metrics["judge/overall/n"] == 4
    assert len(server.requests) == 5  # 4 judgments + one 500
    evaluate(settings, tmp_path / "out")  # resume: nothing left to answer or judge
    assert len(server.requests) == 5
    assert len((tmp_path / "out/answers/bailong.jsonl").read_text("utf-8").splitlines()) == 2
