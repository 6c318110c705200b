"""How much an extended tokenizer compresses each language, and what it changed.

Per language, on held-out lines: characters per token and the fraction of byte-fallback
tokens before (base) and after (extended), and how many lines are segmented differently.
Since the merge keeps every base id, a line with identical ids has identical segmentation; for
English that count is the check that the extension left English alone, and any change becomes
a warning in the report (with the appended pieces responsible) and on the console. Both
extension paths measure through ``compare_languages``: SentencePiece models here, byte-level
BPE ``tokenizer.json`` files in ``byte_level_extend``, each read through a ``Segmenter``.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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


@dataclass(frozen=True)
class Segmenter:
    """One tokenizer as the report reads it, whatever its kind (SentencePiece, byte-level BPE),
    so both extension paths measure and warn through the same code."""

    encode: Callable[[list[str]], list[list[int]]]  # lines → ids, no BOS/EOS
    is_byte: Callable[[int], bool]  # a piece of a character's bytes, not whole characters
    show: Callable[[int], str]  # how a warning names a token
    size: int  # ids from here on are what an extension appended to this tokenizer


def sentencepiece_segmenter(sp: spm.SentencePieceProcessor) -> Segmenter:
    return Segmenter(sp.encode, sp.is_byte, sp.id_to_piece, sp.get_piece_size())


def language_stats(
    base: Segmenter,
    extended: Segmenter,
    lines: Sequence[str],
    before: Sequence[Sequence[int]],
    after: Sequence[Sequence[int]],
) -> LanguageStats:
    """The stats of ``lines``, given their ids ``before`` (base) and ``after`` (extended)."""
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
    base: Segmenter,
    extended: Segmenter,
    before: Sequence[Sequence[int]],
    after: Sequence[Sequence[int]],
    remedy: str,
) -> str | None:
    """A sentence naming how many English lines changed and the appended pieces used, or None."""
    changed = [a for b, a in zip(before, after, strict=True) if b != a]
    if not changed:
        return None
    used = Counter(extended.show(i) for ids in changed for i in ids if i >= base.size)
    shown = ", ".join(f"{piece!r} ×{n}" for piece, n in used.most_common(8))
    return (
        f"the merge changes English segmentation: {len(changed)} of {len(before)} English lines "
        f"get different ids (appended pieces used: {shown}); {remedy}"
    )


def compare_languages(
    base: Segmenter, extended: Segmenter, heldout: Mapping[str, Sequence[str]], remedy: str
) -> tuple[dict[str, LanguageStats], list[str]]:
    """Per-language stats of the held-out lines, and the report's warnings (also warned, for
    the console): English not checked, or English segmented differently (``heldout["en"]``;
    ``remedy`` says how this extension path keeps English unchanged)."""
    languages, found = {}, []
    if "en" not in heldout:
        found.append("English segmentation not checked: no English lines given")
    for lang, lines in heldout.items():
        before, after = base.encode(list(lines)), extended.encode(list(lines))
        languages[lang] = language_stats(base, extended, lines, before, after)
        if lang == "en" and (message := english_warning(base, extended, before, after, remedy)):
            found.append(message)
    for message in found:
        warnings.warn(message, stacklevel=3)
    return languages, found


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
    languages, report_warnings = compare_languages(
        sentencepiece_segmenter(base),
        sentencepiece_segmenter(extended),
        heldout,
        "score_policy=below_base with cjk_only=true keeps English unchanged",
    )
    return {
        "base_vocab_size": base.get_piece_size(),
        "extended_vocab_size": extended.get_piece_size(),
        "pieces_added": extended.get_piece_size() - base.get_piece_size(),
        **(extra or {}),
        "languages": {lang: stats.to_dict() for lang, stats in languages.items()},
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
