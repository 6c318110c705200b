"""Extend a byte-level BPE base (a ``tokenizer.json``): train, append, save, report.

The output directory holds the extended ``tokenizer.json`` and the base's tokenizer side files
(``tokenizer_config.json``, special tokens, chat template), so ``AutoTokenizer`` loads it with
the base's class and settings. The base's ``vocab.json``/``merges.txt`` are not copied: they
would describe the old vocabulary. The report has the SentencePiece path's shape: per language,
characters per token and partial-character ("byte") tokens before and after, and lines whose
ids changed; plus what was appended (whole target-script tokens, the intermediate byte
sequences they are built from) and what was skipped.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from bailong.tokenizer.byte_level import append_merges, read_tokenizer_json, train_addition
from bailong.tokenizer.files import is_sentencepiece, tokenizer_json
from bailong.tokenizer.report import LanguageStats

SIDE_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
)


def takes_byte_level_path(base: str | Path) -> bool:
    """A base given as a tokenizer.json (no SentencePiece model beside it) is extended here."""
    return not is_sentencepiece(base)


def partial_tokens(tok: Tokenizer, ids: Sequence[int]) -> int:
    """Tokens that are not a whole number of characters (byte pieces of a character)."""
    return sum("\ufffd" in tok.decode([i], skip_special_tokens=False) for i in ids)


def language_stats(base: Tokenizer, extended: Tokenizer, lines: Sequence[str]) -> LanguageStats:
    before = [e.ids for e in base.encode_batch(list(lines), add_special_tokens=False)]
    after = [e.ids for e in extended.encode_batch(list(lines), add_special_tokens=False)]
    return LanguageStats(
        lines=len(lines),
        chars=sum(len(line) for line in lines),
        tokens_before=sum(map(len, before)),
        tokens_after=sum(map(len, after)),
        byte_tokens_before=sum(partial_tokens(base, ids) for ids in before),
        byte_tokens_after=sum(partial_tokens(extended, ids) for ids in after),
        lines_changed=sum(a != b for a, b in zip(before, after, strict=True)),
    )


def save_extended(base_json: Path, spec: dict[str, Any], out: Path) -> Path:
    """Write the extended ``tokenizer.json`` beside copies of the base's side files."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    copied = [f for f in SIDE_FILES if (base_json.parent / f).is_file()]
    for name in copied:
        shutil.copyfile(base_json.parent / name, out / name)
    if "tokenizer_config.json" not in copied:
        PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer.json")).save_pretrained(out)
    return out


def extend_byte_level(
    base_path: str | Path,
    train_texts: Sequence[str],
    heldout: Mapping[str, Sequence[str]],
    out: Path,
    *,
    vocab_size: int,
    cjk_only: bool = True,
    max_added: int | None = None,
) -> dict[str, Any]:
    """Extend the base tokenizer at ``base_path`` into ``out``; return the report."""
    source = tokenizer_json(base_path)
    base = Tokenizer.from_file(str(source))
    addition = train_addition(base, train_texts, vocab_size)
    spec, appended = append_merges(
        read_tokenizer_json(source), addition, cjk_only=cjk_only, max_added=max_added
    )
    save_extended(source, spec, out)
    extended = Tokenizer.from_file(str(out / "tokenizer.json"))
    loaded = len(AutoTokenizer.from_pretrained(str(out)))
    if loaded != appended.base_size + appended.added:
        raise RuntimeError(
            f"{out}: the saved tokenizer has {loaded} tokens, expected "
            f"{appended.base_size} + {appended.added}"
        )
    languages = {lang: language_stats(base, extended, lines) for lang, lines in heldout.items()}
    report_warnings = english_warnings(languages)
    for message in report_warnings:
        warnings.warn(message, stacklevel=2)
    return {
        "kind": "byte_level_bpe",
        "base_vocab_size": appended.base_size,
        "extended_vocab_size": loaded,
        "pieces_added": appended.added,
        "appended": appended.to_dict(),
        "why": (
            "whole target-script tokens of a BPE trained on the corpus with the base's "
            "pre-tokenizer, each with the intermediate byte sequences its merges build; merges "
            "ranked after every base merge"
        ),
        "addition_merges": len(addition),
        "languages": {lang: stats.to_dict() for lang, stats in languages.items()},
        "warnings": report_warnings,
    }


def english_warnings(languages: Mapping[str, LanguageStats]) -> list[str]:
    """What the report warns about: English not checked, or English segmented differently."""
    english = languages.get("en")
    if english is None:
        return ["English segmentation not checked: no English lines given"]
    if english.lines_changed:
        return [
            f"English segmentation changed on {english.lines_changed} of {english.lines} lines: "
            "an appended merge joins symbols that occur in English text"
        ]
    return []
