"""Generate chat replies from a (trained) model: prompt rendering, sampling settings, streaming.

The prompt must be rendered the way the model was fine-tuned: ``llama2`` is the Llama 2 chat
format (``<s>[INST] <<SYS>>…<</SYS>> user [/INST] answer</s>`` per exchange) that the SFT
data layer trains with by default, rendered by the data layer's own code
(``bailong.data.chat.llama2_segments``: the same template, the same fallback), so a prompt is
the training rendering of the same turns; ``tokenizer`` uses the tokenizer's own
``chat_template``. The run records which one it used (``bailong_run.json``); the apps pass it
through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from threading import Thread
from typing import Any, Protocol, cast, runtime_checkable

import torch
from transformers import PreTrainedTokenizerBase, TextIteratorStreamer

from bailong.data.chat import llama2_segments
from bailong.data.chat_template import chat_format

CHAT_TEMPLATES = ("llama2", "tokenizer")
Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@runtime_checkable
class TextGenerator(Protocol):
    """A model with transformers' ``generate``: a causal LM (``GenerationMixin``) or a peft
    model wrapping one (a bare ``PreTrainedModel`` does not declare it)."""

    def generate(self, *args: Any, **kwargs: Any) -> Any: ...


def _generator(model: torch.nn.Module) -> TextGenerator:
    if not isinstance(model, TextGenerator):
        raise TypeError(f"{type(model).__name__} cannot generate text: load a causal LM")
    return model


@dataclass
class GenerationSettings:
    max_new_tokens: int = 512
    temperature: float = 0.0  # 0 = greedy (deterministic, as for benchmark answers)
    top_p: float = 1.0
    repetition_penalty: float = 1.0


def _encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def llama2_prompt_ids(messages: Sequence[Message], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Llama 2 chat ids for a conversation ending with a user turn, ready for the reply: its
    SFT rendering up to there (one rule for stripping a first user turn under a system block)."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    body = list(messages[1:] if system is not None else messages)
    if not body or body[-1]["role"] != "user":
        raise ValueError("the conversation must end with a user message to generate a reply")
    for i, msg in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if msg["role"] != expected:
            raise ValueError(f"message {i} has role {msg['role']!r}; expected {expected!r}")
    turns = [(m["role"], m["content"]) for m in messages]
    return [i for segment in llama2_segments(turns, tokenizer, None) for i in segment.ids]


def prompt_ids(
    messages: Sequence[Message], tokenizer: PreTrainedTokenizerBase, template: str
) -> list[int]:
    """Token ids of ``messages`` rendered with ``template``, ending where the reply starts."""
    template = chat_format(template, tokenizer)
    if template == "llama2":
        return llama2_prompt_ids(messages, tokenizer)
    if template == "tokenizer":
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"{type(tokenizer).__name__} has no chat_template; use llama2")
        # typed for every mode; tokenize=False returns the rendered text
        text = cast(
            str,
            tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            ),
        )
        return _encode(tokenizer, text)
    raise ValueError(f"chat template {template!r} is invalid: allowed values {CHAT_TEMPLATES}")


def _generate_kwargs(settings: GenerationSettings, tokenizer: PreTrainedTokenizerBase) -> dict:
    sample = settings.temperature > 0
    kwargs = {
        "max_new_tokens": settings.max_new_tokens,
        "do_sample": sample,
        "repetition_penalty": settings.repetition_penalty,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if sample:
        kwargs |= {"temperature": settings.temperature, "top_p": settings.top_p}
    return kwargs


def _inputs(ids: list[int], model: torch.nn.Module) -> dict[str, torch.Tensor]:
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


@torch.no_grad()
def generate_reply(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    messages: Sequence[Message],
    template: str,
    settings: GenerationSettings,
) -> str:
    """The model's next assistant message for ``messages``."""
    ids = prompt_ids(messages, tokenizer, template)
    generator = _generator(model)
    out = generator.generate(**_inputs(ids, model), **_generate_kwargs(settings, tokenizer))
    # typed for a batch too; one sequence decodes to one string
    reply = cast(str, tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True))
    return reply.strip()


def stream_reply(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    messages: Sequence[Message],
    template: str,
    settings: GenerationSettings,
) -> Iterator[str]:
    """Yield the reply piece by piece as it is generated (generation runs in a thread)."""
    generator = _generator(model)
    ids = prompt_ids(messages, tokenizer, template)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**_inputs(ids, model), **_generate_kwargs(settings, tokenizer), "streamer": streamer}

    def run() -> None:
        with torch.no_grad():
            generator.generate(**kwargs)

    thread = Thread(target=run, daemon=True)
    thread.start()
    yield from streamer
    thread.join()
