"""Test helpers: compose the real Hydra configs with test-local output and cache dirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from bailong.cli.conf_dir import conf_dir
from bailong.training.config import TrainConfig
from bailong.training.validate import validate_train_config

CONF = Path(conf_dir())


def compose_app(config_name: str, overrides: list[str], output_dir: str) -> DictConfig:
    """An app's config as its CLI composes it, with the Hydra-provided dirs set to ``output_dir``
    (outside a Hydra run ``${hydra:runtime.output_dir}`` does not resolve)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.output_dir = cfg.paths.log_dir = output_dir
    return cfg


def compose_train(tmp_path: Path, overrides: list[str] = ()) -> DictConfig:
    """The train config as the CLI would compose it, writing under ``tmp_path``."""
    cfg = compose_app("train", list(overrides), str(tmp_path))
    with open_dict(cfg):
        cfg.paths.cache_dir = str(cache_root(tmp_path))
    return cfg


def cache_root(tmp_path: Path) -> Path:
    """One cache per test session (random models/tokenizers are reused across tests)."""
    return tmp_path.parent.parent / "bailong-cache"


def train_process(
    run_dir: Path, args: list[str], tmp_path: Path, entry: list[str] = ("-m", "bailong.cli.train")
) -> subprocess.Popen:
    """``bailong-train`` (or ``entry``, e.g. ``-m tests.support.kill_switch <point>``) writing to
    ``run_dir``, its output in ``run_dir.log``, the session's model cache shared."""
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "BAILONG_CACHE": str(cache_root(tmp_path)),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    log = open(run_dir.with_suffix(".log"), "w")  # noqa: SIM115  (closed with the process)
    return subprocess.Popen(
        [sys.executable, *entry, f"hydra.run.dir={run_dir}", *args],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def train_settings(tmp_path: Path, overrides: list[str] = ()) -> TrainConfig:
    return validate_train_config(compose_train(tmp_path, overrides))


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def run_study_script(script: Path, shared: Path, tmp_path: Path, **knobs: str) -> None:
    """A study's one command (``bash <script>``) from the repo root, as its README runs it: the
    shared data at ``shared``, its cache under ``tmp_path/cache``, its knobs (SEEDS, METHODS,
    RESULTS, ..._ARGS) in the environment."""
    env = {
        **os.environ,
        "BAILONG_SHARED_DATA": str(shared),
        "BAILONG_CACHE": str(tmp_path / "cache"),
        "PYTHON": sys.executable,
        **knobs,
    }
    root = Path(__file__).resolve().parents[2]
    subprocess.run(["bash", str(script)], cwd=root, env=env, check=True, timeout=1500)
