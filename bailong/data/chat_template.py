"""The Llama 2 chat format as a chat template, rendered by the tokenizer's own machinery.

``llama2_chat.jinja`` is the format ``data.chat.template=llama2`` trains with and the eval and
chat apps prompt with. ``apply_chat_template(..., return_assistant_tokens_mask=True)`` turns a
conversation into ids and the trained span (its ``{% generation %}`` block) in one pass, as
Hugging Face and TRL do, and a saved tokenizer carries the template
(``carry_chat_format``), so ``AutoTokenizer.from_pretrained(dir).apply_chat_template``
renders what the run trained on. We set it always for ``llama2``, over any template the
tokenizer came with (a hub Llama-2-chat template differs: a space before ``</s>``, other
stripping), because a run's saved tokenizer must render the format that run used.

The format was first written as separate texts encoded one by one: ``bos + "[INST] …
[/INST]"`` per exchange, then the stripped reply and ``eos``
(``bailong.data.chat.llama2_segments_per_text``, still the fallback). The template renders one
string that the tokenizer encodes in one go, which gives the same ids exactly when

* every text right after a special token is encoded as a text of its own (SentencePiece's
  dummy prefix "▁" included), so ``<s>[INST]`` gives ``<s> ▁[INST`` as ``[INST]`` alone does;
* a text alone starts with what a space gives inside a text, so ``[/INST] reply`` gives the
  ids of ``[/INST]`` then of ``reply``; and no piece holds "▁" after another character, so
  nothing merges across that space;
* no reply starts with an added token's text (``</s>…``): the space before it would then be
  a token of its own.

``renders_exactly`` checks the first two per tokenizer: true for bailong's own conversions of
SentencePiece models (every ``.model`` file, sample and extended tokenizers) and Hugging
Face's legacy Llama tokenizers. It is false, and the fallback encodes, for python tokenizers
(the SentencePiece-backed fallback of ``load_tokenizer`` has no character offsets for the
mask), for transformers' non-legacy Llama/Mistral tokenizers (no "▁" after ``<s>``, so
``[INST]`` would start with ``[`` instead of ``▁[``; transformers 5 builds a Llama tokenizer
so unless its config says ``legacy: true``, as for a hub name like conf/tokenizer/llama2's)
and for tokenizers without a dummy prefix (byte-level Llama 3 and Qwen 2.5, Gemma: each
reply would start with a space the per-text encoding never gave it, and punctuation could
merge with ``]``). ``tests/data/test_chat_template.py`` holds both paths to the ids the
hand-written renderer gave before the template replaced it.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import cast

from transformers import BatchEncoding, PreTrainedTokenizerBase

LLAMA2_CHAT_TEMPLATE = (Path(__file__).parent / "llama2_chat.jinja").read_text("utf-8")

_EXACT: weakref.WeakKeyDictionary[PreTrainedTokenizerBase, bool] = weakref.WeakKeyDictionary()


def _encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _joint_equals_separate(tokenizer: PreTrainedTokenizerBase) -> bool:
    """The first two conditions of the module docstring, probed on the format's own boundaries."""
    specials = [
        (tok, tid)
        for tok, tid in (
            (tokenizer.bos_token, tokenizer.bos_token_id),
            (tokenizer.eos_token, tokenizer.eos_token_id),
        )
        if tok is not None
    ]
    prompt = _encode(tokenizer, "[INST] x [/INST]")
    if any(_encode(tokenizer, tok + "[INST] x [/INST]") != [tid, *prompt] for tok, tid in specials):
        return False
    if _encode(tokenizer, "[/INST] x") != _encode(tokenizer, "[/INST]") + _encode(tokenizer, "x"):
        return False
    return not any("▁" in piece.lstrip("▁") for piece in tokenizer.get_vocab())


def renders_exactly(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the template path gives this tokenizer the fallback's ids (and a mask at all).

    Probed once per tokenizer object (a vocabulary scan; tokenizers are not changed after
    loading here, beyond pad token and chat template).
    """
    if tokenizer not in _EXACT:
        _EXACT[tokenizer] = tokenizer.is_fast and _joint_equals_separate(tokenizer)
    return _EXACT[tokenizer]


def starts_with_added_token(tokenizer: PreTrainedTokenizerBase, text: str) -> bool:
    """The third condition of the module docstring, for one reply."""
    return text.strip().startswith(
        tuple(t.content for t in tokenizer.added_tokens_decoder.values())
    )


def template_ids_and_mask(
    messages: list[dict[str, str]], tokenizer: PreTrainedTokenizerBase, chat_template: str
) -> tuple[list[int], list[int]]:
    """Ids of ``messages`` rendered with ``chat_template`` and 1 on its generation spans.

    A conversation ending with a user turn gets the generation prompt (it is being answered).
    """
    # typed for every mode; tokenize=True with return_dict=True returns a BatchEncoding
    out = cast(
        BatchEncoding,
        tokenizer.apply_chat_template(
            messages,
            chat_template=chat_template,
            add_generation_prompt=messages[-1]["role"] == "user",
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        ),
    )
    return list(out["input_ids"]), list(out["assistant_masks"])


def chat_format(template: str, tokenizer: PreTrainedTokenizerBase) -> str:
    """``template``, except that a tokenizer carrying our Llama 2 template renders as ``llama2``
    (exact for every tokenizer, where ``tokenizer`` would encode a reply's leading space alone)."""
    ours = getattr(tokenizer, "chat_template", None) == LLAMA2_CHAT_TEMPLATE
    return "llama2" if template == "tokenizer" and ours else template


def carry_chat_format(tokenizer: PreTrainedTokenizerBase, template: str) -> None:
    """Before saving: the tokenizer carries the template the run rendered conversations with.

    ``tokenizer`` runs used the tokenizer's own template, which it already carries.
    """
    if template == "llama2":
        tokenizer.chat_template = LLAMA2_CHAT_TEMPLATE
