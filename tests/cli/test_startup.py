"""Commands start fast: ``--help`` and config errors load no heavy library, and a config error
is one line. (Times are recorded by experiments/benchmarks/startup_time.py, never asserted.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bailong.cli.hydra_app import app_help
from bailong.cli.train import __doc__ as train_doc
from bailong.embeddings.method_names import INIT_METHOD_NAMES

HEAVY = ("torch", "lightning", "transformers", "peft", "bitsandbytes", "wandb", "matplotlib")


def run_cli(
    module: str, args: list[str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess, set]:
    """Run ``module``'s main with ``args``; returns the process and the heavy modules it loaded."""
    loaded = tmp_path / "loaded.txt"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(loaded)!r}, 'w').write("
        f"' '.join(m for m in {HEAVY!r} if m in sys.modules)))\n"
        f"sys.argv = ['app', *{args!r}]\n"
        f"from {module} import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    return proc, set(loaded.read_text().split())


@pytest.mark.parametrize(
    "module",
    ["train", "eval", "probe_init", "extend_tokenizer", "compare", "data", "chat", "export"],
)
def test_help_loads_no_heavy_library(module: str, tmp_path: Path) -> None:
    proc, loaded = run_cli(f"bailong.cli.{module}", ["--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert loaded == set(), f"--help imported {loaded}"
    assert proc.stdout.startswith(("bailong-", "usage: bailong-"))


def test_config_error_is_one_line_without_heavy_imports(tmp_path: Path) -> None:
    proc, loaded = run_cli("bailong.cli.train", ["lora.r=0", "optim.lr=-1"], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("bailong-train: config error: "), proc.stderr
    assert "lora.r=0 is invalid" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert loaded == set(), f"validating a config imported {loaded}"


def test_full_error_shows_the_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    proc, _ = run_cli("bailong.cli.train", ["lora.r=0"], tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "ConfigError: lora.r=0 is invalid" in proc.stderr


def test_help_lists_only_the_apps_own_groups() -> None:
    train = app_help("bailong-train", train_doc, "train")
    assert train.startswith("bailong-train: continued pretraining")
    assert "  lora:" in train and "  embedding_init:" in train
    assert "  eval:" not in train, "the eval group belongs to bailong-eval"
    from bailong.cli.eval import __doc__ as eval_doc

    evaluate = app_help("bailong-eval", eval_doc, "eval")
    assert "  eval:" in evaluate and "perplexity" in evaluate
    assert "  lora:" not in evaluate


def test_init_method_names_match_the_registry() -> None:
    from bailong.embeddings.registry import INIT_METHODS

    assert tuple(INIT_METHODS) == INIT_METHOD_NAMES


def test_precision_names_match_lightning() -> None:
    import typing

    from lightning.fabric.plugins.precision.precision import _PRECISION_INPUT

    from bailong.training.range_checks import PRECISIONS

    names = {
        str(v) for literal in typing.get_args(_PRECISION_INPUT) for v in typing.get_args(literal)
    }
    assert set(PRECISIONS) == names


def test_bailong_data_config_error_is_one_line() -> None:
    from bailong.cli.data import main as data_main

    with pytest.raises(SystemExit, match=r"^bailong-data: config error: data.batch_size=0 is"):
        data_main(["data.batch_size=0"])
