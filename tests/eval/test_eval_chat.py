"""bailong-chat, fed from stdin: streamed multi-turn replies, /reset, /exit."""

from __future__ import annotations

import io
import sys

import pytest

from bailong.apps.reload import load_trained
from bailong.cli.chat import main as chat_main
from bailong.eval.chat import ASSISTANT_PROMPT, USER_PROMPT, chat_loop
from bailong.eval.generate import GenerationSettings, llama2_prompt_ids
from tests.support.eval_fixtures import trained_run


def test_chat_loop_keeps_the_conversation_and_resets(tmp_path_factory) -> None:
    lm = load_trained(trained_run(tmp_path_factory.getbasetemp()))
    stdin = io.StringIO("你好\n\nwhat next?\n/reset\n再一次\n/exit\nnever read\n")
    stdout = io.StringIO()
    settings = GenerationSettings(max_new_tokens=6)
    history = chat_loop(lm.model, lm.tokenizer, "llama2", settings, stdin, stdout, "系統")
    assert [m["role"] for m in history] == ["system", "user", "assistant"]
    assert history[1]["content"] == "再一次"
    text = stdout.getvalue()
    assert text.count(ASSISTANT_PROMPT) == 3 and "(conversation cleared)" in text
    assert text.count(USER_PROMPT) == 6 and "never read" not in text


def test_llama2_prompt_carries_every_turn(tmp_path_factory) -> None:
    lm = load_trained(trained_run(tmp_path_factory.getbasetemp()))
    tok = lm.tokenizer
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "一"},
        {"role": "assistant", "content": "二"},
        {"role": "user", "content": "三"},
    ]
    text = tok.decode(llama2_prompt_ids(msgs, tok))
    assert text.count("[INST]") == 2 and "<<SYS>>\nS\n<</SYS>>" in text
    assert text.rstrip().endswith("[/INST]")
    with pytest.raises(ValueError, match="end with a user message"):
        llama2_prompt_ids(msgs[:3], tok)


def test_chat_cli_reads_stdin(tmp_path_factory, monkeypatch, capsys) -> None:
    run = trained_run(tmp_path_factory.getbasetemp())
    monkeypatch.setattr(sys, "stdin", io.StringIO("臺灣的夜市\n"))
    chat_main([str(run), "--max-new-tokens", "4", "--temperature", "0"])
    out = capsys.readouterr().out
    assert out.count(ASSISTANT_PROMPT) == 1 and out.count(USER_PROMPT) == 2
