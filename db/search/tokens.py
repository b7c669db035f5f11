"""What the full-text index stores for a story: the matcher's own keys, spelled as tokens.

The topic matcher files every word under several keys (folded form, Russian,
Tajik or English stem, transliteration skeleton; see
:mod:`core.query.stemming`). The index stores exactly those keys, so a
query word found by the index is a word the matcher would accept, on SQLite
and on PostgreSQL alike. Each key family gets a one-character marker, because
the same string can be a stem in one family and a word form in another.

Markers are ASCII punctuation: FTS5's ``ascii`` tokenizer is told to keep them
inside tokens, and PostgreSQL lexemes may contain anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from core.query.document import AnalyzedDocument
from core.query.normalize import Script, script_of
from core.query.stemming import document_keys

FORM = "#"  # the folded word itself: exact (=) and wildcard (*) terms
FAMILY_MARKERS = {
    "r": "~",  # Russian stem of a Cyrillic word
    "t": "&",  # Tajik stem of a Cyrillic word
    "e": "+",  # English stem of a Latin word
    "n": "_",  # a word of digits or another script, as it is
    "xc": "^",  # transliteration skeleton of a Cyrillic word
    "xl": "=",  # transliteration skeleton of a Latin word
}
LANG = "@"
SOURCE = "$"
DOMAIN = "%"
EVERY = "!all"  # in every story: the positive side of a query made of NOT only
NOTHING = "!none"  # in no story
DAY = "<d"  # PostgreSQL only: the day and month of the sort key, for newest-first windows
MONTH = "<m"
# Characters FTS5 must keep inside a token (besides letters and digits).
TOKEN_CHARS = "'#~&+^=_@$%!.-"
# Longer keys are not indexed (a 200-letter "word" is a URL or base64 blob).
MAX_KEY_CHARS = 200
# Every word contributes at most this many tokens (form + three keys).
TOKENS_PER_WORD = 4

SORT_SHIFT = 20
_SORT_LOW = (1 << SORT_SHIFT) - 1
_MAX_SECONDS = (1 << 42) - 1


def key_token(key: str) -> str | None:
    """``"r:мигрант"`` → ``"~мигрант"``; None for keys the index does not hold (prefix keys)."""
    family, _, value = key.partition(":")
    marker = FAMILY_MARKERS.get(family)
    if marker is None or not value or len(value) > MAX_KEY_CHARS:
        return None
    return marker + value


# The tokens of a word, in this order, by the word's script: every word of a
# script has exactly these many tokens, so on SQLite (where a word's keys are
# consecutive tokens) the distance between two keys of adjacent words is known.
SLOTS = {
    Script.CYRILLIC: (FORM, FAMILY_MARKERS["r"], FAMILY_MARKERS["t"], FAMILY_MARKERS["xc"]),
    Script.LATIN: (FORM, FAMILY_MARKERS["e"], FAMILY_MARKERS["xl"]),
    Script.OTHER: (FORM, FAMILY_MARKERS["n"]),
}
# A key too long to index keeps its slot with this (no query asks for it).
TOO_LONG = "\u2026"


@lru_cache(maxsize=262_144)
def word_tokens(form: str) -> tuple[str, ...]:
    """Tokens of one folded document word: its form, then its keys (see SLOTS)."""
    script = script_of(form)
    values = {FORM: form}
    for key in document_keys(form):
        family, _, value = key.partition(":")
        marker = FAMILY_MARKERS.get(family)
        if marker is not None:
            values[marker] = value
    return tuple(
        marker + (value if 0 < len(value) <= MAX_KEY_CHARS else TOO_LONG)
        for marker in SLOTS[script]
        for value in (values.get(marker, ""),)
    )


def slot_of(token: str) -> tuple[int, int]:
    """(tokens per word, index of this token in its word) for a query token."""
    marker = token[:1]
    for slots in SLOTS.values():
        if marker != FORM and marker in slots:
            return len(slots), slots.index(marker)
    return len(SLOTS[script_of(token[1:])]), 0


def clean_value(value: str) -> bool:
    """Can this metadata value be a single token (letters, digits, '.', '-', '_')?"""
    return bool(value) and all(ch.isalnum() or ch in ".-_" for ch in value)


def domain_tokens(host: str) -> list[str]:
    """The host and each parent domain: ``news.ozodi.org`` → ``news.ozodi.org``, ``ozodi.org``, ``org``."""
    labels = host.split(".")
    suffixes = (".".join(labels[i:]) for i in range(len(labels)))
    return [DOMAIN + s for s in suffixes if clean_value(s) and len(s) <= MAX_KEY_CHARS]


@dataclass(frozen=True, slots=True)
class StoryTokens:
    """Per-word token tuples of the title and the text, and the story's metadata tokens."""

    title: list[tuple[str, ...]]
    body: list[tuple[str, ...]]
    meta: list[str]
    lang: str | None


def story_tokens(adoc: AnalyzedDocument, source_id: int | None) -> StoryTokens:
    """Tokens of an analysed story, in word order."""
    words = adoc.words
    title = [word_tokens(form) for form in words[: adoc.title_end]]
    body = [word_tokens(form) for form in words[adoc.title_end :]]
    lang = adoc.lang or None
    meta = [EVERY]
    if lang and clean_value(lang):
        meta.append(LANG + lang)
    if source_id is not None:
        meta.append(SOURCE + str(source_id))
    if adoc.host:
        meta.extend(domain_tokens(adoc.host))
    return StoryTokens(title, body, meta, lang)


def sort_key(when: datetime, story_id: int) -> int:
    """A story's place in time order, unique per story: seconds since 1970, then the id.

    The full-text index is keyed by it, so "newest first" and date ranges are
    walks over the index in key order instead of sorts of every match.
    """
    seconds = min(max(int(when.timestamp()), 0), _MAX_SECONDS)
    return (seconds << SORT_SHIFT) | (story_id & _SORT_LOW)


def sort_key_bound(when: datetime) -> int:
    """The smallest sort key at or after ``when`` (whole seconds)."""
    seconds = min(max(int(when.timestamp()), 0), _MAX_SECONDS)
    return seconds << SORT_SHIFT


def seconds_of(key: int) -> int:
    return key >> SORT_SHIFT
