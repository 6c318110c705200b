"""What the commands print (issue 17 items 6 and 8): a final line naming the outputs, results
in the job log, the chat banner, known-harmless noise filtered (and only that), samples from
``bailong-data``, and git ignoring what the README's commands write."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bailong.cli.outputs import outputs_line, to_job_log
from bailong.core.known_noise import silence_known_noise
from tests.support.eval_fixtures import trained_run, write_corpus

REPO = Path(__file__).resolve().parents[2]


def test_outputs_line_names_what_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "run" / "csv").mkdir(parents=True)
    (tmp_path / "run" / "csv" / "metrics.csv").write_text("step\n")
    (tmp_path / "run" / "adapter").mkdir()
    monkeypatch.chdir(tmp_path)
    line = outputs_line("bailong-train", tmp_path / "run", ["csv/metrics.csv", "model", "adapter"])
    assert line == "bailong-train: outputs in run: csv/metrics.csv, adapter/"


def test_job_log_gets_the_line_and_the_console_does_not(tmp_path: Path) -> None:
    root = logging.getLogger()
    file_handler = logging.FileHandler(tmp_path / "eval.log")
    console = io.StringIO()
    stream_handler = logging.StreamHandler(console)
    root.addHandler(file_handler)
    root.addHandler(stream_handler)
    try:
        to_job_log("results: zh/bits_per_char=13.6")
    finally:
        root.removeHandler(file_handler)
        root.removeHandler(stream_handler)
        file_handler.close()
    assert "results: zh/bits_per_char=13.6" in (tmp_path / "eval.log").read_text()
    assert console.getvalue() == ""


def test_eval_ends_with_its_outputs_and_logs_its_results(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bailong.cli.eval import main as eval_main

    run = trained_run(tmp_path_factory.getbasetemp())
    files = write_corpus(tmp_path / "heldout", repeats=2)
    out = tmp_path / "eval"
    monkeypatch.setattr(
        sys,
        "argv",
        ["bailong-eval", f"model_path={run}", f"hydra.run.dir={out}",
         f"eval.perplexity.files={{zh: [{files['zh']}], en: [{files['en']}]}}"],
    )  # fmt: skip
    eval_main()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"bailong-eval: outputs in {out}: results.json"
    log = (out / "eval.log").read_text(encoding="utf-8")
    assert "zh/bits_per_char=" in log and "bailong-eval: outputs in" in log


def test_chat_prints_a_banner(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bailong.cli.chat import main as chat_main

    run = trained_run(tmp_path_factory.getbasetemp())
    monkeypatch.setattr(sys, "stdin", io.StringIO("/exit\n"))
    chat_main([str(run), "--max-new-tokens", "2"])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"bailong-chat: {run} (llama2 chat format)")
    assert "/reset starts a new conversation, /exit or Ctrl-D quits" in first


def test_only_the_known_harmless_messages_are_filtered(caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        silence_known_noise()
        warnings.warn_explicit(
            "`is_gradient_checkpointing` is deprecated and will be removed in v6.",
            FutureWarning, "modeling_utils.py", 1, module="transformers.modeling_utils",
        )  # fmt: skip
        warnings.warn_explicit(
            "bitsandbytes::gemv_4bit: an autograd kernel was not registered",
            UserWarning, "graph.py", 1, module="torch.autograd.graph",
        )  # fmt: skip
    assert [str(w.message)[:24] for w in caught] == ["bitsandbytes::gemv_4bit:"]
    with caplog.at_level(logging.WARNING):
        bnb = logging.getLogger("bitsandbytes.backends.cpu.ops")
        bnb.warning("Failed to load CPU gemm_4bit_forward from kernels-community: No module")
        bnb.warning("something else")
    assert "kernels-community" not in caplog.text and "something else" in caplog.text


def test_bailong_data_default_shows_sample_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bailong.cli.data import main as data_main

    monkeypatch.setenv("BAILONG_CACHE", str(tmp_path / "cache"))
    data_main(["data.block_size=64"])
    out = capsys.readouterr().out
    assert "block 0: 64 tokens, all with loss" in out and "block 1:" in out


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs a git checkout"
)
def test_git_ignores_what_the_readme_commands_write_and_nothing_tracked() -> None:
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)

    for path in ("logs/x", "exported/bailong/config.json", "exports/bailong_7b/config.json"):
        assert git("check-ignore", "-q", "--no-index", path).returncode == 0, path
    tracked_but_ignored = git("ls-files", "-ci", "--exclude-standard").stdout.split()
    assert tracked_but_ignored == []
