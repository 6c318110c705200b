"""Every bad arm of a sweep is named at once, before any job runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bailong.cli.early_checks import given_config_dirs, unknown_group_options
from bailong.cli.train import main as train_main
from tests.helpers import cache_root


def test_all_unknown_group_options_of_a_sweep_are_named_before_any_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    monkeypatch.setenv("BAILONG_CACHE", str(cache_root(tmp_path)))
    argv = ["bailong-train", "-m", f"hydra.sweep.dir={out}", "lora=r8,r7,r16,r33", "seed=1,2"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        train_main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "lora=r7 (known: none, r16, r64, r8)" in err and "lora=r33 (known:" in err
    assert "lora=r8 " not in err and "lora=r16 " not in err
    assert not out.exists(), "no job ran"


def test_options_from_an_extra_config_dir_are_known(tmp_path: Path) -> None:
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "r7.yaml").write_text("r: 7\n", encoding="utf-8")
    argv = ["-m", "--config-dir", str(tmp_path), "lora=r8,r7", "vocab=null"]
    assert unknown_group_options(argv, given_config_dirs(argv)) == []
