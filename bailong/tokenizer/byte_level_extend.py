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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from bailong.tokenizer.byte_level import append_merges, read_tokenizer_json, train_addition
from bailong.tokenizer.files import is_sentencepiece, tokenizer_json
from bailong.tokenizer.report import Segmenter, compare_languages

SIDE_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
)


def takes_byte_level_path(base: str | Path) -> bool:
    """A base given as a tokenizer.json (no SentencePiece model beside it) is extended here."""
    return not is_sentencepiece(base)


def byte_level_segmenter(tok: Tokenizer) -> Segmenter:
    """``tok`` for the report: a "byte" token is one that is not a whole number of characters
    (it decodes to the replacement character); a token is shown as the text it decodes to."""

    def text(i: int) -> str:
        return tok.decode([i], skip_special_tokens=False)

    return Segmenter(
        encode=lambda lines: [e.ids for e in tok.encode_batch(lines, add_special_tokens=False)],
        is_byte=lambda i: "\ufffd" in text(i),
        show=text,
        size=tok.get_vocab_size(with_added_tokens=True),
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
    languages, report_warnings = compare_languages(
        byte_level_segmenter(base),
        byte_level_segmenter(extended),
        heldout,
        "an appended merge joins symbols that occur in English text (merge.cjk_only=true "
        "appends whole target-script tokens only)",
    )
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
