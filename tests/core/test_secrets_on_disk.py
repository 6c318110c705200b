"""Secrets never land on disk: not in .hydra/*.yaml, multirun.yaml, logs or bailong_run.json."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bailong.cli.early_checks import secret_override_keys
from bailong.cli.eval import main as eval_main
from bailong.cli.train import main as train_main
from bailong.core.redact import (
    holds_secret,
    looks_secret,
    redact,
    redact_text,
    secret_values,
)
from bailong.training.run_record import write_run_record
from bailong.training.task import run_task
from tests.support.helpers import cache_root, train_settings

SECRET = "s3cr3t-0123456789abcdef"
TOKEN = "q3Rz8KpL2mNx7VtW4sYb9CdE6fGh1JkA5u"  # the shape of a Hugging Face token's body
APPS: dict[str, Callable[[], Any]] = {"bailong-train": train_main, "bailong-eval": eval_main}


def files_containing(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize(
    "name",
    [
        *("hfToken", "authToken", "access_key", "bearer", "passphrase", "auth", "wandbkey"),
        *("WANDB_API_KEY", "hf_token", "db_password", "openaiKey", "Authorization", "api-key"),
        *("hfPat", "pwd", "key", "session_id", "sessionId", "dsn", "db_passwd"),
    ],
)
def test_credential_names_look_secret(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        *("tokenizer", "original_tokenizer", "max_tokens", "author", "authors", "sort_key"),
        *("keyword", "monkey", "hf_token_env", "api_key_env", "tokens_seen", "passage"),
    ],
)
def test_settings_do_not_look_secret(name: str) -> None:
    assert not looks_secret(name)


def test_secret_overrides_are_found_in_any_form() -> None:
    argv = ["-m", "--config-dir", "/x", "lora=r8,r16", "+paths.hf_token_env=HF_TOKEN"]
    argv += ["+paths.hfToken=a", "+p={authToken: b}", "hydra.job.env_set.WANDB_API_KEY=c"]
    argv += ["+q.passphrase=d,e", "+r=[{bearer: f}]"]
    assert secret_override_keys(argv) == [
        "paths.hfToken",
        "p",
        "hydra.job.env_set.WANDB_API_KEY",
        "q.passphrase",
        "r",
    ]


def run_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app: str, args: list[str]
) -> SystemExit:
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    monkeypatch.setattr(sys, "argv", [app, *args])
    with pytest.raises(SystemExit) as stopped:
        APPS[app]()
    return stopped.value


@pytest.mark.parametrize(
    ("app", "args"),
    [
        ("bailong-train", ["-m", "+paths.hf_token={secret}", "seed=1,2"]),
        ("bailong-train", ["+paths.authToken={secret}"]),
        ("bailong-eval", ["+paths.hfToken={secret}"]),
        ("bailong-eval", ["-m", "+paths={{access_key: {secret}}}"]),
        *(("bailong-train", [f"+paths.{k}={{secret}}"]) for k in ("hfPat", "pwd", "key")),
        ("bailong-train", ["+paths.session_id={secret}"]),
        ("bailong-eval", ["judge.base_url=http://user:{secret}@host/v1"]),
        ("bailong-train", ["+paths.db=postgres://u:{secret}@h/db"]),
        ("bailong-train", [f"+paths.hub=hf_{TOKEN}"]),
        ("bailong-train", ["-m", "+paths.db=x,postgres://u:{secret}@h/db"]),
    ],
)
def test_a_secret_on_the_command_line_stops_the_app_before_hydra_writes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    app: str,
    args: list[str],
) -> None:
    out = tmp_path / "out"
    where = [f"hydra.run.dir={out}", f"hydra.sweep.dir={out}"]
    args = [*where, *(a.format(secret=SECRET) for a in args)]
    stopped = run_app(monkeypatch, tmp_path, app, args)
    assert stopped.code == 2
    err = capsys.readouterr().err
    assert "=<hidden> looks like a secret given on the command line" in err
    assert "_env" in err, "the message says where the secret goes instead"
    assert SECRET not in err
    assert not out.exists(), "Hydra wrote nothing: no .hydra/, no multirun.yaml, no log"


def leaky_config_dir(tmp_path: Path, key: str) -> Path:
    """A config group ``leak`` whose one option writes a literal secret into ``paths``."""
    folder = tmp_path / "extra-conf"
    (folder / "leak").mkdir(parents=True)
    yaml = f"# @package _global_\npaths:\n  {key}: {SECRET}\n"
    (folder / "leak" / "on.yaml").write_text(yaml, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("app", "mode"),
    [("bailong-train", "-m"), ("bailong-eval", "-m"), ("bailong-eval", "--run")],
)
def test_a_secret_from_a_config_file_is_rejected_and_kept_off_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: str, mode: str
) -> None:
    """Validation rejects it; the copies Hydra saved first (run and sweep) are scrubbed."""
    out = tmp_path / "out"
    args = ["--config-dir", str(leaky_config_dir(tmp_path, "hf_token")), "+leak=on"]
    args += [f"hydra.run.dir={out}", f"hydra.sweep.dir={out}"]
    if mode == "-m":
        args.insert(0, "-m")
    stopped = run_app(monkeypatch, tmp_path, app, args)
    assert stopped.code != 0
    failed = list(out.rglob("FAILED"))
    assert len(failed) == 1 and "paths.hf_token=<hidden>" in failed[0].read_text("utf-8")
    saved = [p.name for p in out.rglob("*.yaml")]
    assert "config.yaml" in saved and ("multirun.yaml" in saved) == (mode == "-m")
    assert files_containing(out, SECRET) == []


def test_the_run_record_never_holds_a_secret(tmp_path: Path) -> None:
    cfg = train_settings(tmp_path)
    cfg.paths.update(authToken=SECRET, hfToken=SECRET, hf_token_env="HF_TOKEN")
    record = write_run_record(tmp_path, cfg, base_vocab_size=100)
    saved = json.loads(record.read_text("utf-8"))["train_config"]["paths"]
    assert SECRET not in record.read_text("utf-8")
    assert saved["hf_token_env"] == "HF_TOKEN" and saved["authToken"] == "<redacted>"


SHAPED = [
    "postgres://u:{secret}@db.example.org:5432/runs",
    "http://user:{secret}@host/v1",
    f"hf_{TOKEN}",
    f"sk-proj-{TOKEN}",
    f"ghp_{TOKEN}ab",
]


@pytest.mark.parametrize("value", SHAPED)
def test_a_secret_shaped_value_is_a_secret_whatever_its_key(value: str) -> None:
    value = value.format(secret=SECRET)
    assert holds_secret("db", value) and secret_values({"paths": {"db": value}}) == [value]
    for secret in (SECRET, TOKEN):
        assert secret not in str(redact({"paths": {"db": value, "list": [value]}}))
        assert secret not in redact_text(f"Traceback ...\nURLError: {value} refused\n")


def test_a_url_keeps_its_host_and_loses_only_its_userinfo() -> None:
    assert redact_text("see http://user:pw@host:8/v1 and ftp://a@b/c") == (
        "see http://<redacted>@host:8/v1 and ftp://<redacted>@b/c"
    )
    plain = ["https://api.openai.com/v1", "hf-internal-testing/tiny", "a" * 40, "/data/x.txt"]
    assert [holds_secret("url", v) for v in plain] == [False] * 4
    assert redact({"url": plain[0]}) == {"url": plain[0]}


def test_a_url_with_a_password_in_a_config_file_stays_off_disk_and_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    folder = tmp_path / "extra-conf"
    (folder / "leak").mkdir(parents=True)
    yaml = f"# @package _global_\npaths:\n  db: postgres://u:{SECRET}@h/db\n"
    (folder / "leak" / "on.yaml").write_text(yaml, encoding="utf-8")
    args = ["--config-dir", str(folder), "+leak=on", f"hydra.run.dir={out}"]
    stopped = run_app(monkeypatch, tmp_path, "bailong-train", args)
    assert stopped.code != 0
    assert "paths.db=<hidden>" in (out / "FAILED").read_text("utf-8")
    assert files_containing(out, SECRET) == []
    captured = capsys.readouterr()
    assert SECRET not in captured.err + captured.out


def test_a_failure_naming_a_url_with_a_password_is_recorded_without_it(tmp_path: Path) -> None:
    def job() -> dict[str, float]:
        raise ConnectionError(f"cannot reach http://judge:{SECRET}@judge.local/v1/models")

    with pytest.raises(ConnectionError):
        run_task(job, tmp_path)
    failed = (tmp_path / "FAILED").read_text("utf-8")
    assert "http://<redacted>@judge.local/v1/models" in failed and SECRET not in failed
