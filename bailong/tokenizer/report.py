"""How much an extended tokenizer compresses each language, and what it changed.

Per language, on held-out lines: characters per token and the fraction of byte-fallback
tokens before (base) and after (extended), and how many lines are segmented differently.
Since the merge keeps every base id, a line with identical ids has identical segmentation; for
English that count is the check that the extension left English alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sentencepiece as spm
from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class LanguageStats:
    lines: int
    chars: int
    tokens_before: int
    tokens_after: int
    byte_tokens_before: int
    byte_tokens_after: int
    lines_changed: int

    @property
    def chars_per_token_before(self) -> float:
        return self.chars / max(self.tokens_before, 1)

    @property
    def chars_per_token_after(self) -> float:
        return self.chars / max(self.tokens_after, 1)

    @property
    def byte_fraction_before(self) -> float:
        return self.byte_tokens_before / max(self.tokens_before, 1)

    @property
    def byte_fraction_after(self) -> float:
        return self.byte_tokens_after / max(self.tokens_after, 1)

    def to_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "chars_per_token_before": round(self.chars_per_token_before, 4),
            "chars_per_token_after": round(self.chars_per_token_after, 4),
            "byte_fraction_before": round(self.byte_fraction_before, 4),
            "byte_fraction_after": round(self.byte_fraction_after, 4),
        }


def language_stats(
    base: spm.SentencePieceProcessor, extended: spm.SentencePieceProcessor, lines: Sequence[str]
) -> LanguageStats:
    before = base.encode(list(lines))
    after = extended.encode(list(lines))
    return LanguageStats(
        lines=len(lines),
        chars=sum(len(line) for line in lines),
        tokens_before=sum(map(len, before)),
        tokens_after=sum(map(len, after)),
        byte_tokens_before=sum(base.is_byte(i) for ids in before for i in ids),
        byte_tokens_after=sum(extended.is_byte(i) for ids in after for i in ids),
        lines_changed=sum(a != b for a, b in zip(before, after, strict=True)),
    )


def build_report(
    base_model: Path,
    extended_model: Path,
    heldout: Mapping[str, Sequence[str]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON-ready report: vocab sizes and per-language stats (plus ``extra`` entries)."""
    base = spm.SentencePieceProcessor(model_file=str(base_model))
    extended = spm.SentencePieceProcessor(model_file=str(extended_model))
    return {
        "base_vocab_size": base.get_piece_size(),
        "extended_vocab_size": extended.get_piece_size(),
        "pieces_added": extended.get_piece_size() - base.get_piece_size(),
        **(extra or {}),
        "languages": {
            lang: language_stats(base, extended, lines).to_dict() for lang, lines in heldout.items()
        },
    }


def write_report(report: Mapping[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def report_table(report: Mapping[str, Any]) -> Table:
    title = (
        f"vocab {report['base_vocab_size']:,} → {report['extended_vocab_size']:,} "
        f"(+{report['pieces_added']:,})"
    )
    table = Table(title=title)
    for column in (
        "language",
        "lines",
        "chars",
        "chars/token before",
        "chars/token after",
        "byte tokens before",
        "byte tokens after",
        "lines changed",
    ):
        table.add_column(column, justify="left" if column == "language" else "right")
    for lang, s in report["languages"].items():
        table.add_row(
            lang,
            f"{s['lines']:,}",
            f"{s['chars']:,}",
            f"{s['chars_per_token_before']:.3f}",
            f"{s['chars_per_token_after']:.3f}",
            f"{s['byte_fraction_before']:.1%}",
            f"{s['byte_fraction_after']:.1%}",
            f"{s['lines_changed']:,} / {s['lines']:,}",
        )
    return table


def print_report(report: Mapping[str, Any], console: Console | None = None) -> None:
    (console or Console(width=120)).print(report_table(report))
