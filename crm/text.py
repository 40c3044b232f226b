"""Text normalisation shared by quick filters, search and duplicate detection.

Names arrive in English and Chinese, in full-width and half-width forms, with and without
punctuation. Everything that compares names goes through `normalize` so "ＵＫＩＩＣ",
"ukiic" and "U.K.I.I.C." meet, and Chinese names also get their pinyin.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import lazy_pinyin

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def normalize(text: str | None) -> str:
    """Fold width and case, turn punctuation into single spaces."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCT.sub(" ", folded).strip()


def has_han(text: str | None) -> bool:
    return bool(text and _HAN.search(text))


@lru_cache(maxsize=4096)
def pinyin(text: str) -> str:
    """Toneless pinyin of the Chinese characters in `text`, syllables separated by spaces."""
    return normalize(" ".join(lazy_pinyin(text)))


def search_blob(names: Iterable[str | None], known_pinyin: dict[str, str] | None = None) -> str:
    """One lowercase string holding every form of every name: what quick filters scan.

    Each name appears normalised; Chinese names also as spaced and joined pinyin, so
    "taizhou" and "tai zhou" both find 台州. Bulk loaders that already know a name's
    pinyin pass it in `known_pinyin` to save the conversion.
    """
    parts: list[str] = []
    for name in names:
        norm = normalize(name)
        if not norm:
            continue
        parts.append(norm)
        if has_han(name):
            spaced = (known_pinyin or {}).get(name) or pinyin(name)
            parts.append(spaced)
            parts.append(spaced.replace(" ", ""))
    # "|" separates names so a match cannot straddle two of them.
    return "|" + "|".join(dict.fromkeys(parts)) + "|"


def like_pattern(query: str) -> str:
    """A LIKE pattern for a normalised query, with LIKE's wildcards escaped."""
    q = normalize(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"
