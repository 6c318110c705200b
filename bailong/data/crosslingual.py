"""Cross-lingual instructions: zh↔en translation conversations from parallel text.

BayLing 2 moves ability between languages by mixing translation-style instructions into
SFT data. Here a record holding a Chinese and an English side (a parallel corpus line, or an
SFT record with bilingual fields such as ``instruction_zh`` / ``instruction_en``) becomes
one conversation per direction. The request is phrased in the source language, picked from a
few wordings by the record's ordinal, so the stream is deterministic yet not one fixed prompt.
"""

from __future__ import annotations

from typing import Any

from bailong.data.chat import BadConversation, Message
from bailong.data.documents import as_text, extract

ZH_TO_EN = (
    "請把下面這段中文翻譯成英文：\n\n{text}",
    "將以下內容譯為英文。\n\n{text}",
    "Translate this Traditional Chinese text into English:\n\n{text}",
)
EN_TO_ZH = (
    "Translate the following into Traditional Chinese (Taiwan):\n\n{text}",
    "Please render this passage in Traditional Chinese.\n\n{text}",
    "請將下列英文翻譯成繁體中文：\n\n{text}",
)


def _side(record: Any, field_path: str, where: str) -> str:
    try:
        leaves = list(extract(record, field_path, where))
    except KeyError as err:
        raise BadConversation(str(err.args[0]).split(": ", 1)[-1]) from None
    if len(leaves) != 1 or (text := as_text(leaves[0][1])) is None or not text.strip():
        raise BadConversation(f"field {field_path!r} is not one non-empty text")
    return text.strip()


def translation_conversations(
    record: Any, ordinal: int, zh_field: str, en_field: str, direction: str, where: str = ""
) -> list[list[Message]]:
    """One conversation per requested direction (``both`` | ``zh2en`` | ``en2zh``)."""
    zh, en = _side(record, zh_field, where), _side(record, en_field, where)
    out = []
    if direction in ("both", "zh2en"):
        prompt = ZH_TO_EN[ordinal % len(ZH_TO_EN)].format(text=zh)
        out.append([("user", prompt), ("assistant", en)])
    if direction in ("both", "en2zh"):
        prompt = EN_TO_ZH[ordinal % len(EN_TO_ZH)].format(text=en)
        out.append([("user", prompt), ("assistant", zh)])
    return out
