"""An interactive multi-turn chat over a trained run, with the reply streamed as it is made.

Reads one user message per line; ``/reset`` forgets the conversation, ``/exit`` (or end of
input) quits. Input and output are plain text streams, so the loop runs the same from a
terminal, a pipe (``echo 你好 | bailong-chat RUN``) or a test. The model's text is printed
without terminal control characters (escape sequences could recolour, retitle or rewrite the
terminal) or bidirectional overrides (which could make shown text differ from the real one).
"""

from __future__ import annotations

import unicodedata
from typing import TextIO

import torch
from transformers import PreTrainedTokenizerBase

from bailong.eval.generate import GenerationSettings, Message, stream_reply

USER_PROMPT = "user> "
ASSISTANT_PROMPT = "assistant> "
KEPT_CONTROLS = "\n\t"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def for_terminal(text: str) -> str:
    """``text`` without control characters (other than newline and tab) or bidi overrides."""
    return "".join(
        c
        for c in text
        if c in KEPT_CONTROLS or (unicodedata.category(c) != "Cc" and c not in BIDI_CONTROLS)
    )


def chat_loop(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    template: str,
    settings: GenerationSettings,
    stdin: TextIO,
    stdout: TextIO,
    system_prompt: str | None = None,
) -> list[Message]:
    """Run until ``/exit`` or end of input; returns the last conversation."""
    history: list[Message] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    start = len(history)
    while True:
        stdout.write(USER_PROMPT)
        stdout.flush()
        line = stdin.readline()
        if not line or line.strip() == "/exit":
            stdout.write("\n")
            return history
        text = line.strip()
        if not text:
            continue
        if text == "/reset":
            del history[start:]
            stdout.write("(conversation cleared)\n")
            continue
        history.append({"role": "user", "content": text})
        stdout.write(ASSISTANT_PROMPT)
        pieces = []
        for piece in stream_reply(model, tokenizer, history, template, settings):
            stdout.write(for_terminal(piece))
            stdout.flush()
            pieces.append(piece)
        stdout.write("\n")
        history.append({"role": "assistant", "content": "".join(pieces).strip()})
