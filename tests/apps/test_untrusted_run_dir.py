"""A run directory someone sends you must not run code: only the user's own flag may.

The poisoned run is a real trained run whose ``bailong_run.json`` was edited to point its base
at a local model directory whose ``config.json`` maps the auto classes to a Python file that
writes a marker when imported, with ``trust_remote_code: true``.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from transformers import AutoModelForCausalLM

from bailong.apps.reload import load_trained
from bailong.cli.chat import main as chat_main
from bailong.cli.export import main as export_main
from bailong.core.checks import ConfigError
from bailong.model.load import materialize_random_model
from bailong.training.run_record import RUN_RECORD
from tests.support.eval_fixtures import trained_run
from tests.support.helpers import cache_root

EVIL = """from pathlib import Path
Path({marker!r}).write_text("code from the run directory ran")
"""


def poisoned_run(tmp_path: Path, base_temp: Path, **model: Any) -> tuple[Path, Path]:
    """A copy of a trained run whose record names a code-carrying base; returns (run, marker)."""
    run = tmp_path / "sent-run"
    shutil.copytree(trained_run(base_temp), run)
    record_file = run / "adapter" / RUN_RECORD
    record = json.loads(record_file.read_text("utf-8"))
    model_cfg = record["train_config"]["model"]
    clean = materialize_random_model(
        model_cfg["config"], record["base_vocab_size"], model_cfg["seed"], cache_root(tmp_path)
    )
    base_dir, marker = tmp_path / "base", tmp_path / "pwned"
    shutil.copytree(clean, base_dir)
    (base_dir / "evil.py").write_text(EVIL.format(marker=str(marker)), "utf-8")
    config = json.loads((base_dir / "config.json").read_text("utf-8"))
    config["auto_map"] = {
        "AutoConfig": "evil.EvilConfig",
        "AutoModelForCausalLM": "evil.EvilModel",
    }
    (base_dir / "config.json").write_text(json.dumps(config), "utf-8")
    model_cfg.update(name_or_path=str(base_dir), trust_remote_code=True, **model)
    record_file.write_text(json.dumps(record), "utf-8")
    return run, marker


def test_chat_export_and_reload_ignore_the_records_trust_remote_code(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, marker = poisoned_run(tmp_path, tmp_path_factory.getbasetemp())
    lm = load_trained(run)  # the base loads as the plain Llama it is
    assert lm.is_adapter and not marker.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO("/exit\n"))
    chat_main([str(run), "--max-new-tokens", "2"])
    assert not marker.exists()
    export_main([str(run), str(tmp_path / "exported"), "--dtype", "float32"])
    assert (tmp_path / "exported" / "config.json").is_file()
    assert not marker.exists(), "no code from the run directory ran"


class Refused(Exception):
    """Raised by the spy instead of loading (and running) the base's code."""


def test_only_the_users_flag_turns_trust_remote_code_on(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, marker = poisoned_run(tmp_path, tmp_path_factory.getbasetemp())
    seen: list[bool] = []

    def spy(cls: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["trust_remote_code"])
        raise Refused

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(spy))
    with pytest.raises(Refused):
        export_main([str(run), str(tmp_path / "out"), "--trust-remote-code"])
    with pytest.raises(Refused):
        export_main([str(run), str(tmp_path / "out")])
    assert seen == [True, False] and not marker.exists()


def test_a_record_naming_a_kernel_repository_is_refused(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    attn = "kernels-community/flash-attn"
    run, marker = poisoned_run(tmp_path, tmp_path_factory.getbasetemp(), attn_implementation=attn)
    with pytest.raises(ConfigError, match=rf"{RUN_RECORD}: model\.attn_implementation='{attn}'"):
        load_trained(run)
    assert not marker.exists()


def edited_run(tmp_path: Path, base_temp: Path, edit: Any) -> Path:
    """A copy of the trained run whose record ``edit(record)`` changed."""
    run = tmp_path / "sent-run"
    shutil.copytree(trained_run(base_temp), run)
    record_file = run / "adapter" / RUN_RECORD
    record = json.loads(record_file.read_text("utf-8"))
    edit(record)
    record_file.write_text(json.dumps(record), "utf-8")
    return run


def test_a_records_cache_dir_chooses_neither_where_we_write_nor_what_we_load(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere, user_cache = tmp_path / "elsewhere", tmp_path / "my-cache"
    paths = {"cache_dir": str(elsewhere)}
    run = edited_run(
        tmp_path, tmp_path_factory.getbasetemp(), lambda r: r["train_config"].update(paths=paths)
    )
    monkeypatch.setenv("BAILONG_CACHE", str(user_cache))
    monkeypatch.setattr(sys, "stdin", io.StringIO("/exit\n"))
    chat_main([str(run), "--max-new-tokens", "2"])
    assert not elsewhere.exists(), "nothing was written where the record said"
    assert list((user_cache / "models").iterdir()), "the base was built in the user's cache"


def set_in(record: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = record
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


BAD_RECORD_FIELDS = [
    ("base_vocab_size", -3, r"base_vocab_size=-3 is invalid"),
    ("base_vocab_size", 10**9, r"base_vocab_size=1000000000 is invalid: larger than the run's"),
    ("base_vocab_size", "600", r"base_vocab_size='600' is invalid"),
    ("train_config.model.config.hidden_size", 65536, r"model\.config\.hidden_size=65536 .*\[128\]"),
    ("train_config.model.config.num_hidden_layers", 4096, r"num_hidden_layers=4096 .*\[2\]"),
    ("train_config.model.config.intermediate_size", 10**7, r"intermediate_size=10000000 "),
    ("train_config.model.config.rms_norm_eps", -1, r"model\.config\.rms_norm_eps=-1 "),
    ("train_config.model.seed", -5, r"model\.seed=-5 "),
    ("train_config.model.dtype", "int8", r"model\.dtype='int8' "),
    ("train_config.embedding_init.pad_to_multiple_of", 10**9, r"pad_to_multiple_of=1000000000 "),
    ("train_config.embedding_init.pad_to_multiple_of", -8, r"pad_to_multiple_of=-8 "),
    ("train_config.data.chat.template", "{{evil}}", r"data\.chat\.template='\{\{evil\}\}' "),
    ("train_config.model", "not a section", r"not a run record bailong-train wrote"),
]


@pytest.mark.parametrize(("key", "value", "message"), BAD_RECORD_FIELDS)
def test_every_field_read_from_a_record_is_checked_before_anything_is_built(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    value: Any,
    message: str,
) -> None:
    run = edited_run(tmp_path, tmp_path_factory.getbasetemp(), lambda r: set_in(r, key, value))
    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "my-cache"))
    with pytest.raises(ConfigError, match=rf"{RUN_RECORD}: .*{message}"):
        load_trained(run)
    assert not (tmp_path / "my-cache").exists(), "refused before a base was built"
