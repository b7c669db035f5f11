"""The headline: the version most of the page's own statements agree on, without site suffixes.

JSON-LD ``headline`` is sometimes cut to 110 characters, ``og:title`` and
``<title>`` often carry " | Site | date" tails, ``<h1>`` can be a section
name. Each candidate loses a trailing segment that names the site or a date;
the candidate that the most others agree with wins, ties going to the more
trustworthy source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.extraction.mojibake import fix_mojibake
from crawler.extraction.text import normalized

_SEPARATOR = re.compile(r"\s+[|–—·•-]\s+|\s*\|\s*|\s+::\s+")
_DATE_LIKE = re.compile(r"^[\d./\- :]+$")
_MAX_SUFFIX_WORDS = 5


def _is_site_part(part: str, site_words: set[str]) -> bool:
    norm = normalized(part)
    if not norm or _DATE_LIKE.match(part.strip()):
        return True
    tokens = norm.split()
    return len(tokens) <= _MAX_SUFFIX_WORDS and bool(set(tokens) & site_words)


def strip_site_name(title: str, site_names: Iterable[str]) -> str:
    """'Story | DW | 28.04.2023' -> 'Story' when DW is the site; other titles are unchanged."""
    parts = _SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    site_words = {w for name in site_names for w in normalized(name).split() if len(w) > 1}
    while len(parts) > 1 and _is_site_part(parts[-1], site_words):
        parts.pop()
    while len(parts) > 1 and _is_site_part(parts[0], site_words):
        parts.pop(0)
    if len(parts) == len(_SEPARATOR.split(title)):
        return title
    # Re-cut the original string so separators inside the kept part survive.
    kept = parts[0]
    start = title.find(kept)
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end].strip() if start >= 0 and end > start else kept


def choose_title(candidates: list[str | None], site_names: Iterable[str]) -> str | None:
    """``candidates`` in order of trust; returns the best-supported cleaned headline."""
    names = [n for n in site_names if n]
    cleaned = [
        fix_mojibake(strip_site_name(" ".join(c.split()), names))
        for c in candidates
        if c and c.strip()
    ]
    cleaned = [c for c in cleaned if normalized(c)]
    if not cleaned:
        return None
    norms = [normalized(c) for c in cleaned]

    def support(index: int) -> tuple[int, int]:
        mine = norms[index]
        votes = sum(1 for other in norms if other == mine)
        return votes, -index

    best = max(range(len(cleaned)), key=support)
    return cleaned[best]
