"""Switchable cleaning steps for one pass over one source, each counting what it did.

Order: NFKC → OpenCC conversion → length filter → script (CJK share) filter → exact-duplicate
removal. Duplicates are removed last so a document that only differs before normalization
still counts as a duplicate. The duplicate set holds 16-byte digests, not texts, so it stays
small for corpora that do not fit in memory.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from functools import lru_cache

from bailong.data.config import CleanConfig


@lru_cache(maxsize=8)
def opencc_converter(config: str) -> object:
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


class Cleaner:
    """Apply the configured steps; ``stats`` counts documents seen, changed, removed and kept."""

    def __init__(
        self, cfg: CleanConfig, opencc: str | None = None, stats: Counter[str] | None = None
    ) -> None:
        self.cfg = cfg
        self.opencc = opencc or cfg.opencc
        self.stats: Counter[str] = Counter() if stats is None else stats
        self._seen: set[bytes] = set()

    def transform(self, text: str) -> str:
        """The normalizing steps (no filtering): NFKC, then OpenCC."""
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
