"""Switchable cleaning steps for one pass over one source, each counting what it did.

Order: control characters → NFKC → OpenCC conversion → length filter → script (CJK share)
filter → exact-duplicate removal. Duplicates are removed last so a document that only differs
before normalization still counts as a duplicate. The duplicate set holds 16-byte digests, not
texts, so it stays small for corpora that do not fit in memory.

Control characters are text no model should learn and no terminal should print raw: ANSI
escape sequences (a scraped log colours the screen, or hides a line), C0/C1 controls, bidi
overrides and isolates (U+202E shows text reversed) and U+FEFF (a BOM kept mid-file). They are
removed by default (``clean.strip_controls``) and ``printable`` escapes them for display.

A run that teaches Traditional Chinese should not silently train on Simplified text: a source
whose first CJK characters are largely ones OpenCC's ``s2t`` would change, with no conversion
configured, gets one warning with the share and the fix (``clean.opencc=s2twp``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING

from bailong.data.config import CleanConfig

if TYPE_CHECKING:
    from opencc import OpenCC

ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# C0 controls but tab/newline/carriage return, DEL and C1, bidi embeddings/overrides/isolates
# and marks, and U+FEFF
CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
SIMPLIFIED_SAMPLE_CHARS = 2000  # CJK characters of a source looked at before deciding
SIMPLIFIED_WARN_SHARE = 0.05  # Traditional text has almost none that s2t changes


@lru_cache(maxsize=8)
def opencc_converter(config: str) -> OpenCC:
    """An OpenCC converter (e.g. ``s2twp``: Simplified → Taiwan Traditional with phrases)."""
    import opencc

    return opencc.OpenCC(config)


def is_cjk(ch: str) -> bool:
    """CJK unified ideographs (basic, extension A, compatibility) — the Han characters."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


def cjk_share(text: str) -> float:
    """Share of Han characters among the non-space characters (0 for an empty text)."""
    chars = [c for c in text if not c.isspace()]
    return sum(map(is_cjk, chars)) / len(chars) if chars else 0.0


def strip_controls(text: str) -> str:
    """``text`` without escape sequences and control characters (tab and newline stay)."""
    return CONTROL.sub("", ANSI_ESCAPE.sub("", text))


def printable(text: str) -> str:
    """``text`` with escape sequences and control characters shown as ``\\x1b``, ``\\u202e``
    (safe to print to a terminal)."""

    def shown(match: re.Match[str]) -> str:
        return "".join(
            f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}" for c in match.group()
        )

    return CONTROL.sub(shown, text.replace("\x1b", "\\x1b"))


class SimplifiedCheck:
    """Warn once when a source's first CJK characters look Simplified (see module doc)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.cjk = self.simplified = 0

    def __call__(self, text: str) -> None:
        if self.cjk >= SIMPLIFIED_SAMPLE_CHARS:
            return
        han = "".join(c for c in text if is_cjk(c))
        if not han:
            return
        traditional = opencc_converter("s2t").convert(han)
        self.simplified += sum(a != b for a, b in zip(han, traditional, strict=False))
        self.cjk += len(han)
        if self.cjk >= SIMPLIFIED_SAMPLE_CHARS:
            share = self.simplified / self.cjk
            if share >= SIMPLIFIED_WARN_SHARE:
                warnings.warn(
                    f"data source {self.source!r}: {share:.0%} of its first {self.cjk} CJK "
                    "characters are Simplified Chinese (OpenCC s2t changes them) and this run "
                    "teaches Traditional Chinese; convert it with clean.opencc=s2twp (or the "
                    "source's opencc: s2twp)",
                    stacklevel=2,
                )


class Cleaner:
    """Apply the configured steps; ``stats`` counts documents seen, changed, removed and kept."""

    def __init__(
        self,
        cfg: CleanConfig,
        opencc: str | None = None,
        stats: Counter[str] | None = None,
        source: str = "",
    ) -> None:
        self.cfg = cfg
        self.opencc = opencc or cfg.opencc
        self.stats: Counter[str] = Counter() if stats is None else stats
        self._seen: set[bytes] = set()
        # only without a conversion: a configured OpenCC step already makes it Traditional
        self._script_check = SimplifiedCheck(source) if self.opencc is None else None

    def transform(self, text: str) -> str:
        """The normalizing steps (no filtering): control characters, NFKC, then OpenCC."""
        if self.cfg.strip_controls:
            stripped = strip_controls(text)
            self.stats["controls_removed"] += stripped != text
            text = stripped
        if self._script_check is not None:
            self._script_check(text)
        if self.cfg.nfkc:
            normalized = unicodedata.normalize("NFKC", text)
            self.stats["nfkc_changed"] += normalized != text
            text = normalized
        if self.opencc:
            converted = opencc_converter(self.opencc).convert(text)
            self.stats[f"opencc_{self.opencc}_changed"] += converted != text
            text = converted
        return text

    def rejection(self, text: str) -> str | None:
        """Why ``text`` is filtered out, or None to keep it (records it as seen for dedup)."""
        cfg = self.cfg
        if len(text) < cfg.min_chars:
            return "too_short"
        if cfg.max_chars is not None and len(text) > cfg.max_chars:
            return "too_long"
        if cfg.min_cjk_share is not None or cfg.max_cjk_share is not None:
            share = cjk_share(text)
            if cfg.min_cjk_share is not None and share < cfg.min_cjk_share:
                return "cjk_share_too_low"
            if cfg.max_cjk_share is not None and share > cfg.max_cjk_share:
                return "cjk_share_too_high"
        if cfg.dedup:
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
            if digest in self._seen:
                return "duplicate"
            self._seen.add(digest)
        return None

    def clean_parts(self, parts: list[str]) -> list[str] | None:
        """Clean one record made of several texts (a conversation's turns) as one document."""
        self.stats["seen"] += 1
        parts = [self.transform(p) for p in parts]
        reason = self.rejection("\n".join(parts))
        if reason is not None:
            self.stats[f"removed_{reason}"] += 1
            return None
        self.stats["kept"] += 1
        return parts

    def __call__(self, text: str) -> str | None:
        """The cleaned text, or None when a filter removed it."""
        parts = self.clean_parts([text])
        return None if parts is None else parts[0]
