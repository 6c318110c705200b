"""Conversations: read ShareGPT / OpenAI / alpaca records, render them, mask the loss.

A conversation is a list of ``(role, content)`` with roles ``system``, ``user``,
``assistant``. Rendering produces *segments* of token ids, each marked trainable or not;
labels copy the ids of trainable segments (assistant replies and the end-of-turn token) and
are -100 elsewhere, so the model learns to answer, not to imitate users.

Two templates:

* ``llama2``: Llama 2 chat, ``<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST]
  {assistant}</s>`` per exchange (the system block only in the first one), rendered by
  ``llama2_chat.jinja`` through the tokenizer's ``apply_chat_template``, its
  ``{% generation %}`` spans giving the mask; where that would not give the ids of each
  segment encoded on its own (``bailong.data.chat_template`` says where), the segments are
  encoded one by one, as before the template existed.
* ``tokenizer``: the tokenizer's own ``chat_template``. The assistant spans are found by
  rendering growing prefixes of the conversation and diffing the strings, which works for
  any template whose renders are prefix-stable (checked; an error names the template if not).
  A tokenizer carrying our Llama 2 template (a bailong export) renders as ``llama2``.

Truncation drops whole trailing exchanges until the conversation fits; only when the first
exchange alone is too long are its tokens cut, and a conversation left with no trainable
token is bad data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from transformers import PreTrainedTokenizerBase

from bailong.data.chat_template import (
    LLAMA2_CHAT_TEMPLATE,
    chat_format,
    renders_exactly,
    starts_with_added_token,
    template_ids_and_mask,
)
from bailong.data.pack import IGNORE_INDEX

Message = tuple[str, str]

SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bard": "assistant",
    "bing": "assistant",
}
OPENAI_ROLES = {"system": "system", "user": "user", "assistant": "assistant"}


class BadConversation(ValueError):
    """A record is not a usable conversation; ``kind`` is the short reason counted on skip."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind + (f" ({detail})" if detail else ""))
        self.kind = kind
        self.detail = detail


def _field(record: Any, key: str) -> Any:
    if not isinstance(record, dict) or key not in record:
        raise BadConversation(f"no field {key!r}")
    return record[key]


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise BadConversation(f"{what} is not a string", repr(value)[:60])
    return value


def _turns(
    items: Any, list_key: str, role_key: str, text_key: str, roles: dict[str, str]
) -> list[Message]:
    if not isinstance(items, list):
        raise BadConversation(f"field {list_key!r} is not a list")
    out = []
    for item in items:
        role = _field(item, role_key)
        if role not in roles:
            raise BadConversation(f"unknown role {role!r}", f"known: {sorted(roles)}")
        out.append((roles[role], _str(_field(item, text_key), f"{list_key}[].{text_key}")))
    return out


def from_sharegpt(record: Any) -> list[Message]:
    """``{"conversations": [{"from": "human"|"gpt"|"system", "value": ...}, ...]}``."""
    return _turns(_field(record, "conversations"), "conversations", "from", "value", SHAREGPT_ROLES)


def from_openai(record: Any) -> list[Message]:
    """``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}``."""
    return _turns(_field(record, "messages"), "messages", "role", "content", OPENAI_ROLES)


def from_alpaca(record: Any) -> list[Message]:
    """``instruction`` (+ ``input``) → ``output``; optional ``system`` and ``history`` pairs."""
    instruction = _str(_field(record, "instruction"), "instruction")
    output = _str(_field(record, "output"), "output")
    extra = record.get("input") or ""
    user = f"{instruction}\n\n{extra}" if str(extra).strip() else instruction
    messages: list[Message] = []
    if record.get("system"):
        messages.append(("system", _str(record["system"], "system")))
    for pair in record.get("history") or []:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise BadConversation("history is not a list of [user, assistant] pairs")
        messages += [("user", _str(pair[0], "history")), ("assistant", _str(pair[1], "history"))]
    return [*messages, ("user", user), ("assistant", output)]


READERS = {"sharegpt": from_sharegpt, "openai": from_openai, "alpaca": from_alpaca}


def normalize_conversation(messages: list[Message]) -> list[Message]:
    """System first (optional), then strictly alternating user/assistant ending on assistant."""
    system = [m for m in messages[:1] if m[0] == "system"]
    body = messages[len(system) :]
    if any(role == "system" for role, _ in body):
        raise BadConversation("a system turn after the first turn")
    while body and body[-1][0] == "user":  # an unanswered last question teaches nothing
        body = body[:-1]
    if not any(role == "assistant" for role, _ in body):
        raise BadConversation("conversation has no assistant turn")
    for i, (role, text) in enumerate(body):
        if role != ("user" if i % 2 == 0 else "assistant"):
            raise BadConversation("turns do not alternate user/assistant", f"turn {i} is {role}")
        if not text.strip():  # would teach answering nothing, or answering with nothing
            raise BadConversation("empty turn", f"turn {i} ({role}) is empty or whitespace")
    return system + body


@dataclass
class Segment:
    ids: list[int]
    trainable: bool
    ends_exchange: bool = False  # a cut after this segment keeps whole exchanges


def _encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _with_system(messages: list[Message], system_prompt: str | None) -> list[Message]:
    """The conversation's own system turn, even an empty one, else ``system_prompt`` as one."""
    if messages[0][0] != "system" and system_prompt:
        return [("system", system_prompt), *messages]
    return messages


def llama2_segments_per_text(
    messages: list[Message], tokenizer: PreTrainedTokenizerBase, system_prompt: str | None
) -> list[Segment]:
    """Llama 2 chat with each prompt and reply encoded as a text of its own: the fallback
    where the template's one-string encoding differs (``bailong.data.chat_template``).

    A conversation may end with a user turn (a prompt to be answered).
    """
    messages = _with_system(messages, system_prompt)
    system = messages[0][1] if messages[0][0] == "system" else None
    body = messages[1:] if messages[0][0] == "system" else messages
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    segments = []
    for i in range(0, len(body), 2):
        user = body[i][1]
        if i == 0 and system:
            user = f"<<SYS>>\n{system}\n<</SYS>>\n\n{user}"
        prompt = bos + _encode(tokenizer, f"[INST] {user.strip()} [/INST]")
        segments.append(Segment(prompt, trainable=False))
        if i + 1 < len(body):
            reply = [*_encode(tokenizer, body[i + 1][1].strip()), tokenizer.eos_token_id]
            segments.append(Segment(reply, trainable=True, ends_exchange=True))
    return segments


def _segments_from_mask(ids: list[int], mask: list[int]) -> list[Segment]:
    """Runs of equal mask values; a trained run (a reply with its ``</s>``) ends an exchange."""
    segments: list[Segment] = []
    for token, trained in zip(ids, mask, strict=True):
        if not segments or segments[-1].trainable != bool(trained):
            segments.append(Segment([], bool(trained), ends_exchange=bool(trained)))
        segments[-1].ids.append(token)
    return segments


def llama2_segments(
    messages: list[Message], tokenizer: PreTrainedTokenizerBase, system_prompt: str | None
) -> list[Segment]:
    """Llama 2 chat through ``llama2_chat.jinja`` where that is exact, else per text."""
    replies = [text for role, text in messages if role == "assistant"]
    if not renders_exactly(tokenizer) or any(
        starts_with_added_token(tokenizer, r) for r in replies
    ):
        return llama2_segments_per_text(messages, tokenizer, system_prompt)
    dicts = [{"role": r, "content": c} for r, c in _with_system(messages, system_prompt)]
    return _segments_from_mask(*template_ids_and_mask(dicts, tokenizer, LLAMA2_CHAT_TEMPLATE))


def template_segments(
    messages: list[Message], tokenizer: PreTrainedTokenizerBase, system_prompt: str | None
) -> list[Segment]:
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"data.chat.template=tokenizer but {type(tokenizer).__name__} has no chat_template; "
            "use data.chat.template=llama2"
        )
    messages = _with_system(messages, system_prompt)
    dicts = [{"role": r, "content": c} for r, c in messages]

    def render(n: int, prompt: bool) -> str:
        # typed for every mode; tokenize=False returns the rendered text
        return cast(
            str,
            tokenizer.apply_chat_template(dicts[:n], tokenize=False, add_generation_prompt=prompt),
        )

    segments, done = [], ""
    answers = [j for j, (role, _) in enumerate(messages) if role == "assistant"]
    for j in answers:
        before, after = render(j, True), render(j + 1, False)
        if not (before.startswith(done) and after.startswith(before)):
            raise ValueError(
                "the tokenizer's chat_template does not render conversations prefix-stably, "
                "so assistant spans cannot be located; use data.chat.template=llama2"
            )
        segments.append(Segment(_encode(tokenizer, before[len(done) :]), trainable=False))
        segments.append(Segment(_encode(tokenizer, after[len(before) :]), True, True))
        done = after
    return segments


TEMPLATES = {"llama2": llama2_segments, "tokenizer": template_segments}


def encode_conversation(
    messages: list[Message],
    tokenizer: PreTrainedTokenizerBase,
    template: str,
    max_length: int,
    system_prompt: str | None = None,
) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of at most ``max_length`` tokens; see the module docstring."""
    render = TEMPLATES[chat_format(template, tokenizer)]
    segments = render(normalize_conversation(messages), tokenizer, system_prompt)
    ids: list[int] = []
    labels: list[int] = []
    cut = 0  # tokens up to the end of the last exchange that fits
    for seg in segments:
        if len(ids) + len(seg.ids) > max_length:
            break
        ids += seg.ids
        labels += seg.ids if seg.trainable else [IGNORE_INDEX] * len(seg.ids)
        if seg.ends_exchange:
            cut = len(ids)
    if cut == 0:  # even the first exchange is too long: cut inside it
        ids = [i for seg in segments for i in seg.ids][:max_length]
        labels = [
            lab
            for seg in segments
            for lab in (seg.ids if seg.trainable else [IGNORE_INDEX] * len(seg.ids))
        ][:max_length]
        if all(lab == IGNORE_INDEX for lab in labels):
            raise BadConversation(
                "over-long conversation", f"its first prompt alone exceeds {max_length} tokens"
            )
        return ids, labels
    return ids[:cut], labels[:cut]


def read_conversation(record: Any, schema: str) -> list[Message]:
    return READERS[schema](record)
