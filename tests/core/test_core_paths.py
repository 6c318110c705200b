"""One rule for "is this name a path?" and one owner of the cache default (bailong.core.paths),
shared by the config checks, the preflight and the model and tokenizer loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from bailong.core.paths import looks_local, run_cache_dir, user_cache_dir


def test_what_no_hub_id_can_be_is_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("/abs", "~/m", "./m", "../m", ".hidden/m", "a/b/c", "m/", "c:\\models\\m"):
        assert looks_local(name), name
    for name in ("meta-llama/Llama-2-7b-hf", "gpt2", "Qwen/Qwen2.5-0.5B"):
        assert not looks_local(name), name


def test_a_name_on_disk_or_under_a_local_directory_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert not looks_local("exports/model") and not looks_local("gpt2")
    (tmp_path / "exports").mkdir()
    (tmp_path / "gpt2").mkdir()
    assert looks_local("exports/model"), "an earlier export wrote under exports/"
    assert looks_local("gpt2"), "from_pretrained loads an existing directory, not the hub"


def test_the_cache_is_the_runs_else_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "env"))
    assert user_cache_dir() == tmp_path / "env"
    assert run_cache_dir({}) == tmp_path / "env"
    assert run_cache_dir({"cache_dir": str(tmp_path / "run")}) == tmp_path / "run"
    monkeypatch.delenv("BAILONG_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / ".cache" / "bailong"
