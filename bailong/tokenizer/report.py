"""How much an extended tokenizer compresses each language, and what it changed.

Per language, on held-out lines: characters per token and the fraction of byte-fallback
tokens before (base) and after (extended), and how many lines are segmented differently.
Since the merge keeps every base id, a line with identical ids has identical segmentation; for
English that count is the check that the extension left English alone, and any change becomes
a warning in the report (with the appended pieces responsible) and on the console.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
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


def english_warning(
    base: spm.SentencePieceProcessor, extended: spm.SentencePieceProcessor, lines: Sequence[str]
) -> str | None:
    """A sentence naming how many English lines changed and the appended pieces used, or None."""
    n_base = base.get_piece_size()
    pairs = zip(base.encode(list(lines)), extended.encode(list(lines)), strict=True)
    changed = [after for before, after in pairs if before != after]
    if not changed:
        return None
    used = Counter(extended.id_to_piece(i) for ids in changed for i in ids if i >= n_base)
    shown = ", ".join(f"{piece!r} ×{n}" for piece, n in used.most_common(8))
    return (
        f"the merge changes English segmentation: {len(changed)} of {len(lines)} English lines "
        f"get different ids (appended pieces used: {shown}); score_policy=below_base with "
        "cjk_only=true keeps English unchanged"
    )


def build_report(
    base_model: Path,
    extended_model: Path,
    heldout: Mapping[str, Sequence[str]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A JSON-ready report: vocab sizes, per-language stats (plus ``extra`` entries) and
    ``warnings``; a changed English segmentation (``heldout["en"]``) is also warned about."""
    base = spm.SentencePieceProcessor(model_file=str(base_model))
    extended = spm.SentencePieceProcessor(model_file=str(extended_model))
    report_warnings = []
    if "en" not in heldout:
        report_warnings.append("English segmentation not checked: no English lines given")
    elif (message := english_warning(base, extended, heldout["en"])) is not None:
        report_warnings.append(message)
    for message in report_warnings:
        warnings.warn(message, stacklevel=2)
    return {
        "base_vocab_size": base.get_piece_size(),
        "extended_vocab_size": extended.get_piece_size(),
        "pieces_added": extended.get_piece_size() - base.get_piece_size(),
        **(extra or {}),
        "languages": {
            lang: language_stats(base, extended, lines).to_dict() for lang, lines in heldout.items()
        },
        "warnings": report_warnings,
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
    console = console or Console(width=120)
    console.print(report_table(report))
    for message in report.get("warnings", []):
        console.print(f"[bold yellow]warning:[/] {message}")
