"""Append-only extension of a byte-level BPE ``tokenizer.json`` (Llama 3, Qwen, GPT-2 style).

A byte-level BPE sees text as UTF-8 bytes, each written as one printable character
(``bytes_to_unicode``: byte 0xE8 is ``è``), and builds tokens by a ranked list of merges.
English-centric bases know few Chinese characters as tokens, so ``臺`` costs three byte
tokens ``è ĩ º``. The extension:

1. trains a BPE on the target-language text with the BASE's own normalizer and pre-tokenizer
   (so its words are split exactly as the base will split them) and the 256-byte alphabet;
2. keeps the trained tokens that are whole characters of the target script (``contains_cjk``
   on their decoded text, when ``cjk_only``), together with every intermediate token the
   merges need to build them (``èĩ`` for ``臺``): a BPE token exists only through its merge;
3. appends them to the base vocabulary (ids from the base's size on, after its added/special
   tokens) and their merges after all of the base's merges, in the trained order.

Append-only by construction: every original token keeps its id and every original merge its
rank. Since all appended merges rank below the base's, BPE applies them only when no base merge
applies, and the new tokens never feed a base merge, so a text's base segmentation changes only
where two symbols that build a new token meet; for Chinese tokens that means Chinese
characters, never ASCII English (measured in the report: lines whose ids changed).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import bytes_to_unicode

from bailong.core.cache_entries import publish
from bailong.tokenizer.merge import contains_cjk

BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}
END_OF_TEXT = "<|endoftext|>"


def token_bytes(token: str) -> bytes:
    """The bytes a byte-level token stands for (``èĩº`` → ``臺``'s UTF-8 bytes)."""
    return bytes(CHAR_TO_BYTE[c] for c in token)


def whole_text(token: str) -> str | None:
    """The text of a token that is a whole number of UTF-8 characters, else None."""
    try:
        return token_bytes(token).decode("utf-8")
    except (UnicodeDecodeError, KeyError):
        return None


def is_byte_level(spec: dict[str, Any]) -> bool:
    """A ``tokenizer.json`` (parsed) whose model is BPE over the byte-level alphabet."""

    def uses_byte_level(part: dict[str, Any] | None) -> bool:
        if not part:
            return False
        if part.get("type") == "ByteLevel":
            return True
        return any(uses_byte_level(p) for p in part.get("pretokenizers", []))

    return spec["model"]["type"] == "BPE" and (
        uses_byte_level(spec.get("pre_tokenizer")) or uses_byte_level(spec.get("decoder"))
    )


def byte_level_trainer(vocab_size: int) -> trainers.BpeTrainer:
    """A BPE trainer over all 256 byte symbols, so every byte is a token of its own."""
    return trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )


def train_byte_level_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A GPT-2-style byte-level BPE (the kind Llama 3 and Qwen use), with ``<|endoftext|>``
    added after the trained vocabulary as Llama 3/Qwen lay out their special tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, byte_level_trainer(vocab_size))
    tok.add_special_tokens([AddedToken(END_OF_TEXT, special=True, normalized=False)])
    return tok


def train_addition(base: Tokenizer, texts: Iterable[str], vocab_size: int) -> list[list[str]]:
    """Merges of a BPE trained on ``texts`` with ``base``'s normalizer and pre-tokenizer."""
    tok = Tokenizer.from_str(base.to_str())
    tok.model = models.BPE()
    tok.train_from_iterator(texts, byte_level_trainer(vocab_size))
    return _pairs(json.loads(tok.to_str())["model"]["merges"])


def _pairs(merges: list[Any]) -> list[list[str]]:
    """Merges as [left, right] pairs, whichever of the two tokenizer.json formats holds them."""
    return [m.split(" ", 1) if isinstance(m, str) else list(m) for m in merges]


@dataclass
class Appended:
    """What one extension appended, and why (the report prints it)."""

    base_size: int
    whole: list[str] = field(default_factory=list)  # target-script tokens (decoded text)
    intermediate: int = 0  # partial-character byte sequences the whole tokens are built from
    skipped_known: int = 0  # trained tokens the base already has
    skipped_other: int = 0  # trained tokens outside the target script (cjk_only)
    truncated: int = 0  # whole tokens left out by max_added

    @property
    def added(self) -> int:
        return len(self.whole) + self.intermediate

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["whole"] = len(self.whole)
        return {**d, "added": self.added, "examples": self.whole[:20]}


def _contiguous_vocab(spec: dict[str, Any]) -> dict[str, int]:
    """The BPE vocabulary with the added (special) tokens filled in at their ids, so that new
    ids continue after them; tokenizers renumbers added tokens that leave a gap."""
    vocab = dict(spec["model"]["vocab"])
    for token in spec.get("added_tokens", []):
        vocab.setdefault(token["content"], token["id"])
    ids = sorted(vocab.values())
    if ids != list(range(len(ids))):
        missing = next(i for i, v in enumerate(ids) if i != v)
        raise ValueError(f"the base tokenizer's ids are not contiguous: no token has id {missing}")
    return vocab


def append_merges(
    spec: dict[str, Any],
    addition: list[list[str]],
    *,
    cjk_only: bool = True,
    max_added: int | None = None,
) -> tuple[dict[str, Any], Appended]:
    """A copy of the parsed base ``spec`` with the addition's wanted tokens and merges appended.

    ``max_added`` caps the appended tokens (intermediate ones count), taking whole tokens in
    the addition's merge order, each with the intermediates it needs.
    """
    if not is_byte_level(spec):
        raise ValueError(
            f"the base tokenizer.json holds a {spec['model']['type']} model without a ByteLevel "
            "pre-tokenizer; bailong extends byte-level BPE tokenizer.json files and "
            "SentencePiece .model files"
        )
    vocab = _contiguous_vocab(spec)
    parents = {a + b: (a, b) for a, b in addition}
    report = Appended(base_size=len(vocab))
    new_merges: list[list[str]] = []

    def build(token: str, plan: list[str]) -> None:
        """Add to ``plan`` (in build order) every token ``token`` needs that is not yet known."""
        if token in vocab or token in plan:
            return
        if token not in parents:
            raise ValueError(f"the base vocabulary lacks the byte-level symbol {token!r}")
        left, right = parents[token]
        build(left, plan)
        build(right, plan)
        plan.append(token)

    for left, right in addition:
        token = left + right
        if token in vocab:
            report.skipped_known += 1
            continue
        text = whole_text(token)
        if text is None:
            continue  # an intermediate: appended only when a whole token needs it
        if cjk_only and not contains_cjk(text):
            report.skipped_other += 1
            continue
        plan: list[str] = []
        build(token, plan)
        if max_added is not None and report.added + len(plan) > max_added:
            report.truncated += 1
            continue
        for step in plan:
            vocab[step] = len(vocab)
            new_merges.append(list(parents[step]))
        report.whole.append(text)
        report.intermediate += len(plan) - 1
    out = json.loads(json.dumps(spec))
    as_strings = bool(out["model"]["merges"]) and isinstance(out["model"]["merges"][0], str)
    for token, token_id in vocab.items():  # specials too: the ids must stay contiguous
        out["model"]["vocab"].setdefault(token, token_id)
    out["model"]["merges"] += [" ".join(m) if as_strings else m for m in new_merges]
    return out, report


def read_tokenizer_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def sample_byte_level_dir(text_files: Sequence[Path], vocab_size: int, cache_dir: Path) -> Path:
    """Train (once) a small byte-level BPE on ``text_files`` and save it as a Hugging Face
    tokenizer directory (``<|endoftext|>`` = EOS, no BOS, as Qwen); cached by content and size."""
    digest = hashlib.sha256(f"byte_level:{vocab_size}".encode())
    for path in sorted(text_files):
        digest.update(path.read_bytes())
    target = cache_dir / "tokenizers" / f"sample-byte-level-{digest.hexdigest()[:16]}"
    if (target / "tokenizer.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    texts = [doc for path in text_files for doc in path.read_text("utf-8").split("\n\n") if doc]
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    tok = train_byte_level_bpe(texts, vocab_size)
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=END_OF_TEXT).save_pretrained(tmp)
    publish(tmp, target, lambda folder: (folder / "tokenizer.json").is_file())
    return target
