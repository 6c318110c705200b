"""The Hydra apps' shared frame: the private Hydra API the sweep check stands on, the job
callback every shipped config registers, and the lifecycle every app's job gets."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import hydra
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode

from bailong.core.run_files import FAILED_MARKER
from bailong.training.task import ScrubSavedConfig
from tests.support.helpers import CONF, cache_root

MOVED = f"hydra-core {hydra.__version__} changed the private API bailong.cli.sweep_arms uses"
PRIMARY_CONFIGS = sorted(p.stem for p in CONF.glob("*.yaml"))


def test_hydras_private_sweep_split_is_still_what_the_sweep_check_assumes() -> None:
    """``BasicSweeper.split_arguments`` (hydra._internal) gives every arm, one override per
    key in command-line order, and the launcher and sweeper are named as sweep_arms names them;
    the loader composes a multirun's primary config and each arm's config from it."""
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    except ImportError as err:
        pytest.fail(f"{MOVED}: {err}")
    from bailong.cli import sweep_arms  # here: it fails to import when the above moved

    parsed = OverridesParser.create().parse_overrides(["seed=1,2", "lora=r8", "data.x=a,b"])
    try:
        batches = BasicSweeper.split_arguments(parsed, None)
    except (AttributeError, TypeError) as err:
        pytest.fail(f"{MOVED}: BasicSweeper.split_arguments(overrides, max_batch_size): {err}")
    assert batches == [
        [
            ["seed=1", "lora=r8", "data.x=a"],
            ["seed=1", "lora=r8", "data.x=b"],
            ["seed=2", "lora=r8", "data.x=a"],
            ["seed=2", "lora=r8", "data.x=b"],
        ]
    ], f"{MOVED}: split_arguments gives other arms: {batches}"

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader_owner = GlobalHydra.instance().hydra
        assert loader_owner is not None
        try:
            primary = loader_owner.compose_config("train", ["seed=1,2"], run_mode=RunMode.MULTIRUN)
            arm = loader_owner.config_loader.load_sweep_config(primary, ["seed=2"])
        except (AttributeError, TypeError) as err:
            pytest.fail(f"{MOVED}: Hydra.compose_config / config_loader.load_sweep_config: {err}")
    assert arm.seed == 2
    assert primary.hydra.sweeper._target_ == sweep_arms.BASIC_SWEEPER, MOVED
    assert primary.hydra.launcher._target_ in sweep_arms.LOCAL_LAUNCHERS, MOVED


@pytest.mark.parametrize("config_name", PRIMARY_CONFIGS)
def test_every_shipped_app_config_registers_the_job_callback(config_name: str) -> None:
    """The saved configs are scrubbed by this callback alone: a primary config without
    ``hydra: default`` would keep a config file's secret in ``.hydra/``."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, return_hydra_config=True)
    targets = [c._target_ for c in cfg.hydra.callbacks.values()]
    assert f"{ScrubSavedConfig.__module__}.{ScrubSavedConfig.__name__}" in targets


@pytest.mark.parametrize(
    ("app", "args"), [("train", ["lora.r=0"]), ("probe_init", ["new_pieces=0"])]
)
def test_a_config_error_is_one_line_exit_2_and_a_failed_job_in_every_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    app: str,
    args: list[str],
) -> None:
    """The exit skips Hydra's on_job_end; ``FAILED`` is still written (run_task), and the job
    and its log are named after the app's module, not the builder's."""
    out = tmp_path / "run"
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    monkeypatch.setattr(sys, "argv", ["bailong-app", f"hydra.run.dir={out}", *args])
    with pytest.raises(SystemExit) as stopped:
        importlib.import_module(f"bailong.cli.{app}").main()
    assert stopped.value.code == 2
    assert f"{args[0]} is invalid" in capsys.readouterr().err
    assert f"{args[0]} is invalid" in (out / FAILED_MARKER).read_text("utf-8")
    assert (out / f"{app}.log").is_file()
