"""Which words of a story to highlight in a digest, and the snippet that shows them.

The topic query is run again on the story, so the highlighted words are the
story's own words that made it match. Single words are compared by stem, so
"представительства" is highlighted when the query matched "представительство"
elsewhere in the story; multi-word matches (phrases) are highlighted where
they occur as written. Parts are plain strings: templates escape them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.query import Hit
from core.query.normalize import WORD_RE, fold_word
from core.query.stemming import document_keys

SNIPPET_CHARS = 320
_STEM_KEYS = ("r:", "t:", "e:", "n:")
_TEXT_ZONES = frozenset({"title", "text"})


@dataclass(frozen=True)
class Part:
    """A run of text; ``hit`` when it is one of the matched words."""

    text: str
    hit: bool = False


@dataclass(frozen=True)
class Terms:
    """The matched words of one story: stems of single words, and phrases as written."""

    stems: frozenset[str] = frozenset()
    phrases: tuple[re.Pattern[str], ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.stems or self.phrases)


def _stems(word: str) -> set[str]:
    return {key for key in document_keys(fold_word(word)) if key.startswith(_STEM_KEYS)}


def terms_from_hits(hits: Iterable[Hit]) -> Terms:
    stems: set[str] = set()
    phrases: list[re.Pattern[str]] = []
    for hit in hits:
        if hit.where not in _TEXT_ZONES:
            continue
        words = WORD_RE.findall(hit.matched)
        if len(words) == 1:
            stems |= _stems(words[0])
        elif words:
            pattern = r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)"
            phrases.append(re.compile(pattern, re.IGNORECASE))
    return Terms(frozenset(stems), tuple(phrases))


def _spans(text: str, terms: Terms) -> list[tuple[int, int]]:
    spans = [m.span() for pattern in terms.phrases for m in pattern.finditer(text)]
    if terms.stems:
        spans += [m.span() for m in WORD_RE.finditer(text) if _stems(m.group()) & terms.stems]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, terms: Terms) -> list[Part]:
    """``text`` split into plain and highlighted parts."""
    if not terms or not text:
        return [Part(text)] if text else []
    parts: list[Part] = []
    position = 0
    for start, end in _spans(text, terms):
        if start > position:
            parts.append(Part(text[position:start]))
        parts.append(Part(text[start:end], hit=True))
        position = end
    if position < len(text):
        parts.append(Part(text[position:]))
    return parts


def snippet(texts: Iterable[str], terms: Terms, limit: int = SNIPPET_CHARS) -> list[Part]:
    """About ``limit`` characters of the first text that shows a matched word, around it."""
    candidates = [" ".join(text.split()) for text in texts if text and text.strip()]
    if not candidates:
        return []
    chosen, first = candidates[0], None
    for text in candidates:
        spans = _spans(text, terms) if terms else []
        if spans:
            chosen, first = text, spans[0][0]
            break
    return highlight(_window(chosen, first, limit), terms)


def _window(text: str, first_hit: int | None, limit: int) -> str:
    if len(text) <= limit:
        return text
    start = 0
    if first_hit is not None and first_hit > limit // 3:
        # Begin at a word boundary a little before the first hit, so it is read in context.
        start = text.rfind(" ", 0, first_hit - limit // 4) + 1
    end = start + limit
    if end >= len(text):
        start = max(0, len(text) - limit)
        start = text.find(" ", start) + 1 if start else 0
        return ("…" if start else "") + text[start:]
    cut = text.rfind(" ", start, end)
    cut = cut if cut > start else end
    return ("…" if start else "") + text[start:cut] + "…"


def plain(parts: Iterable[Part], mark: str = "") -> str:
    """The parts as text, matched words wrapped in ``mark`` (``*`` for a text email)."""
    return "".join(f"{mark}{p.text}{mark}" if p.hit and mark else p.text for p in parts)
