"""What one job or one model reply does cannot reach the next job or the user's terminal."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import wandb

from bailong.eval import chat
from bailong.eval.generate import GenerationSettings
from bailong.training.loggers import build_loggers, wandb_mode

HOSTILE = "ok\x1b]0;pwned\x07\x1b[2J\r\b\u202eevil\u202c 臺灣\tnext\n"


def test_a_wandb_mode_of_one_job_does_not_leak_into_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job 1 turns W&B off; job 2 (mode null, no key) must still record an offline run."""
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    for job, mode in enumerate(["disabled", None]):
        out = tmp_path / str(job)
        build_loggers({"wandb": {"mode": mode}}, out, f"job{job}", "sweep", "pretrain", {})
        wandb.finish()
    assert not (tmp_path / "0" / "wandb").exists()
    assert len(list((tmp_path / "1" / "wandb").glob("offline-run-*"))) == 1


def test_chat_prints_no_terminal_control_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    def reply(*args: Any) -> Iterator[str]:
        yield from (HOSTILE[:7], HOSTILE[7:])

    monkeypatch.setattr(chat, "stream_reply", reply)
    stdout = io.StringIO()
    history = chat.chat_loop(
        None,
        None,
        "llama2",
        GenerationSettings(),
        io.StringIO("hi\n"),
        stdout,  # type: ignore[arg-type]
    )
    shown = stdout.getvalue()
    for bad in "\x1b\x07\r\b\u202e\u202c":
        assert bad not in shown
    assert "ok]0;pwned[2Jevil 臺灣\tnext\n" in shown
    assert history[-1]["content"] == HOSTILE.strip(), "the conversation keeps the raw text"


def test_a_wandb_key_without_a_reachable_server_logs_offline(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No minutes-long wait in wandb.init and no CommError after the model has loaded."""
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    with caplog.at_level("WARNING", logger="bailong.training.loggers"):
        assert wandb_mode(None) == "offline"
    assert "cannot be reached: logging offline" in caplog.text
    assert wandb_mode("online") == "online", "an explicit mode is still obeyed"
