"""Every bad arm of a sweep is named at once, before any job runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bailong.cli.early_checks import given_config_dirs, unknown_group_options
from bailong.cli.sweep_arms import SweepCheck, check_sweep, command_line
from bailong.cli.train import main as train_main
from tests.support.helpers import cache_root


@pytest.fixture
def stopped_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., str]:
    """Run ``bailong-train -m <args>``; it must stop with exit status 2 before any job ran.
    Returns what it wrote on stderr."""

    def run(*args: str) -> str:
        out = tmp_path / "sweep"
        monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
        monkeypatch.setattr(sys, "argv", ["bailong-train", "-m", f"hydra.sweep.dir={out}", *args])
        with pytest.raises(SystemExit) as stopped:
            train_main()
        assert stopped.value.code == 2
        assert not out.exists(), "no job ran"
        return capsys.readouterr().err

    return run


def test_all_unknown_group_options_of_a_sweep_are_named_before_any_job(
    stopped_sweep: Callable[..., str],
) -> None:
    err = stopped_sweep("lora=r8,r7,r16,r33", "seed=1,2")
    assert "lora=r7 (known: none, r16, r64, r8)" in err and "lora=r33 (known:" in err
    assert "lora=r8 " not in err and "lora=r16 " not in err


def test_options_from_an_extra_config_dir_are_known(tmp_path: Path) -> None:
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "r7.yaml").write_text("r: 7\n", encoding="utf-8")
    argv = ["-m", "--config-dir", str(tmp_path), "lora=r8,r7", "vocab=null"]
    assert unknown_group_options(argv, given_config_dirs(argv)) == []


def test_bad_values_in_some_arms_are_all_named_before_any_job(
    stopped_sweep: Callable[..., str],
) -> None:
    err = stopped_sweep("lora.r=8,0", "optim.lr=1e-4,-1")
    assert "3 of 4 sweep arms are invalid, nothing was run" in err
    assert "lora.r=0 optim.lr=0.0001: lora.r=0 is invalid: the LoRA rank" in err
    assert "lora.r=8 optim.lr=-1: optim.lr=-1.0 is invalid" in err
    assert "lora.r=0 optim.lr=-1: lora.r=0 is invalid" in err


def test_a_valid_sweep_passes_and_other_sweeps_are_left_to_their_jobs() -> None:
    check = check_sweep("train", ["seed=1,2", "lora=r8,r16", "data.batch_size=4"])
    assert check == SweepCheck(arms=4, bad=[])
    assert command_line(["seed=1"], "train") is None, "a single run checks itself"
    assert command_line(["-m", "--config-dir", "/elsewhere", "seed=1,2"], "train") is None
    assert command_line(["-m", "-cn", "other", "seed=1,2"], "train") == ("other", ["seed=1,2"])
    assert check_sweep("train", ["hparams_search=optuna_lr_rank"]) is None, "Optuna's arms"
    assert check_sweep("train", ["hydra/launcher=slurm", "lora.r=0,8"]) is None, "on the cluster"
    local = check_sweep("train", ["hydra/launcher=local_parallel", "lora.r=0,8"])
    assert local is not None and local.arms == 2 and len(local.bad) == 1


def test_an_experiments_own_sweep_params_are_checked_arm_by_arm() -> None:
    """ablate_lora_rank_tiny sweeps lora=r8,r16,r64 in its hydra.sweeper.params."""
    check = check_sweep("train", ["experiment=ablate_lora_rank_tiny", "lora.alpha=0,16"])
    assert check is not None and check.arms == 6
    assert [line.split(":")[0] for line in check.bad] == [
        f"lora={r} lora.alpha=0" for r in ("r8", "r16", "r64")
    ]
