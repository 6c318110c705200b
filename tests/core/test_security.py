"""Security: no remote code unless asked, weights-only loads, no secrets on disk or in W&B,
no writes outside the run's output dir."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

import bailong
from bailong.core.checks import ConfigError
from bailong.core.redact import REDACTED, redact
from bailong.core.safe_paths import inside_output_dir
from bailong.model.load import load_base_model, materialize_random_model
from bailong.training.checkpoint_io import AtomicCheckpointIO, CheckpointReadError
from bailong.training.run import RunContext, build_tokenizer, cache_dir, train
from tests.support.helpers import cache_root, train_settings
from tests.training.test_train import FAST

PACKAGE = Path(bailong.__file__).parent


# ---- trust_remote_code ---------------------------------------------------------------------


def spy_on(monkeypatch: pytest.MonkeyPatch, cls: Any, calls: list[dict[str, Any]]) -> None:
    """Record the kwargs of ``cls.from_pretrained`` and still run the real loader."""
    real = cls.from_pretrained.__func__

    def spy(klass: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(klass, *args, **kwargs)

    monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))


@pytest.mark.parametrize("trusted", [False, True])
def test_trust_remote_code_is_what_the_config_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    """A hub-style model and tokenizer dir: both loaders get trust_remote_code from config."""
    base = train_settings(tmp_path)
    tokenizer_dir = tmp_path / "tokenizer"
    build_tokenizer(base).save_pretrained(str(tokenizer_dir))
    model_dir = materialize_random_model(base.model.config, 2000, 0, cache_root(tmp_path))
    overrides = [f"model.name_or_path={model_dir}", f"tokenizer.name_or_path={tokenizer_dir}"]
    if trusted:
        overrides.append("model.trust_remote_code=true")
    cfg = train_settings(tmp_path, overrides)
    model_calls: list[dict[str, Any]] = []
    tokenizer_calls: list[dict[str, Any]] = []
    spy_on(monkeypatch, AutoModelForCausalLM, model_calls)
    spy_on(monkeypatch, AutoTokenizer, tokenizer_calls)
    tokenizer = build_tokenizer(cfg)
    load_base_model(cfg.model, cfg.quantization, len(tokenizer), cache_dir(cfg))
    assert [c["trust_remote_code"] for c in tokenizer_calls] == [trusted]
    assert [c["trust_remote_code"] for c in model_calls] == [trusted]


def calls_in_package(name: str) -> list[tuple[str, ast.Call]]:
    """Every call ``<something>.<name>(...)`` in the package source, with its file:line."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == name
            ):
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node))
    return found


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_no_loader_in_the_package_hard_codes_trust_remote_code() -> None:
    loads = calls_in_package("from_pretrained")
    assert loads, "the scan found the package's loaders"
    for where, call in loads:
        value = keyword(call, "trust_remote_code")
        assert not (isinstance(value, ast.Constant) and value.value is True), where


# ---- weights-only loading ------------------------------------------------------------------


def test_every_torch_load_in_the_package_is_weights_only() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    # pickle may be named (checkpoint loading catches pickle.UnpicklingError), never used to load
    for unsafe in ("pickle.load", "pickle.Unpickler", "from pickle import load"):
        assert unsafe not in source, unsafe
    for where, call in calls_in_package("load"):
        if isinstance(call.func.value, ast.Name) and call.func.value.id == "torch":  # type: ignore[union-attr]
            value = keyword(call, "weights_only")
            assert isinstance(value, ast.Constant) and value.value is True, where
    # Lightning's own checkpoint loading goes through our IO plugin, which forces it.
    for where, call in calls_in_package("load_checkpoint"):
        value = keyword(call, "weights_only")
        assert isinstance(value, ast.Constant) and value.value is True, where


class Payload:
    """Unpickling this creates ``marker``: what a malicious checkpoint would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_checkpoint_with_a_pickled_object_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "extra": Payload(marker)}, ckpt)
    with pytest.raises(CheckpointReadError, match="Python objects besides tensors") as info:
        AtomicCheckpointIO().load_checkpoint(ckpt)
    assert isinstance(info.value.__cause__, pickle.UnpicklingError)
    assert "weights_only=False" not in str(info.value), "no advice to load it unsafely"
    cfg = train_settings(tmp_path / "run", [*FAST, f"ckpt_path={ckpt}"])
    with pytest.raises(CheckpointReadError):
        train(cfg, RunContext(output_dir=tmp_path / "run"))
    assert not marker.exists(), "the pickled payload never ran"


# ---- secrets -------------------------------------------------------------------------------


def files_containing(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_redaction_hides_credentials_and_only_credentials() -> None:
    config = {
        "paths": {"hf_token": "hf_abc", "WANDB_API_KEY": "k", "api_key_env": "OPENAI_API_KEY"},
        "tokenizer": {"name_or_path": "x"},
        "embedding_init": {"original_tokenizer": "/t/tokenizer.model"},
        "eval": [{"max_tokens": 2048, "password": 1234}],
    }
    assert redact(config) == {
        "paths": {"hf_token": REDACTED, "WANDB_API_KEY": REDACTED, "api_key_env": "OPENAI_API_KEY"},
        "tokenizer": {"name_or_path": "x"},
        "embedding_init": {"original_tokenizer": "/t/tokenizer.model"},
        "eval": [{"max_tokens": 2048, "password": REDACTED}],
    }


@pytest.mark.slow  # a CLI subprocess with W&B: about a minute on 2 busy cores
def test_wandb_key_never_reaches_logged_or_saved_configs(tmp_path: Path) -> None:
    secret = "wandb-secret-5f3c9a0e1b2d4c6e8f7a9b0c1d2e3f4a"
    run_dir = tmp_path / "run"
    env = {**os.environ, "WANDB_API_KEY": secret, "WANDB_MODE": "offline"}
    env["BAILONG_CACHE"] = str(cache_root(tmp_path))
    args = [f"hydra.run.dir={run_dir}", "logger=many_loggers", "+paths.hf_token_env=HF_TOKEN"]
    args += [*FAST, "trainer.max_steps=2", "save_adapter=false"]
    proc = subprocess.run(
        [sys.executable, "-m", "bailong.cli.train", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # An offline run keeps its config (and history) in the run's .wandb record file.
    logged = list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(logged) == 1 and b"hf_token_env" in logged[0].read_bytes()
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert files_containing(run_dir, secret) == []


# ---- paths stay inside the output dir ------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "/tmp/elsewhere", "csv/../../x"])
def test_logger_path_escaping_the_output_dir_is_rejected_early(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"logger\.csv\.name=.* inside the run's output dir"):
        train_settings(tmp_path, [f"logger.csv.name={name}"])


def test_write_time_check_follows_symlinks(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "link").symlink_to(elsewhere)
    assert inside_output_dir(out, "csv", "logger.csv.name") == (out / "csv").resolve()
    with pytest.raises(ConfigError, match=r"logger\.csv\.name='link/csv' .* outside"):
        inside_output_dir(out, "link/csv", "logger.csv.name")
