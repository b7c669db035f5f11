"""How large any one stored field may be, and how text is cut to fit.

A feed is untrusted input: a 5 MB title was once stored whole, made its story
page 10 MB and a digest 26 MB. Every field a source supplies is cut here
before it is stored (crawler/pipelines/normalize.py), so everything built from
stored stories (pages, feeds, exports, emails) is bounded too.

The limits are far above what real stories use: the longest titles of the
monitored outlets are a few hundred characters, and ``BODY_CHARS`` holds a
book chapter (about 45,000 words), so only hostile or broken input is cut.
Text is cut between characters (never inside a combining sequence or an emoji
joined by ZWJ), at a word end when one is near, and marked with an ellipsis.
Values that mean nothing when cut (URLs, HTTP validators) are dropped instead.
"""

from __future__ import annotations

import unicodedata

ELLIPSIS = "…"

TITLE_CHARS = 1_000
SUMMARY_CHARS = 10_000
BODY_CHARS = 300_000
GUID_CHARS = 1_000
AUTHOR_CHARS = 200
MAX_AUTHORS = 20
# Longer addresses are refused by common browsers and servers anyway; a cut one is
# a different (wrong) address, so an over-long URL is dropped, never cut.
URL_CHARS = 4_000
MAX_LINKS = 100
# What the crawl records about a failed fetch (the source's last error, the run's errors).
ERROR_CHARS = 2_000
# The source's conditional-GET validators (their columns' sizes).
ETAG_CHARS = 500
LAST_MODIFIED_CHARS = 100

# How much of a body the event signature reads: its cost grows with the text (a
# 300,000-character body took minutes on a busy machine), and what places a report in
# an event (who, what, where) is in its first pages.
SIGNATURE_TEXT_CHARS = 20_000

# Look this far back from the limit for a space to cut at, so words stay whole.
_WORD_SLACK = 0.1
_JOINERS = {"\u200d", "\u034f"}  # zero-width joiner, combining grapheme joiner


def clip(text: str, limit: int, *, cut: bool = False) -> str:
    """``text`` itself when it fits in ``limit`` characters, else cut with an ellipsis.

    The result, ellipsis included, is at most ``limit`` characters long. ``cut``
    says the text was already cut short upstream: it gets its ellipsis anyway.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 character, got {limit}")
    if len(text) <= limit and not (cut and text):
        return text
    if len(text) <= limit and text.endswith(ELLIPSIS):
        return text
    if len(text) < limit:
        return text.rstrip() + ELLIPSIS
    end = _character_boundary(text, limit - len(ELLIPSIS))
    space = text.rfind(" ", 0, end + 1)
    if space > end // 2 and end - space <= max(10, int(limit * _WORD_SLACK)):
        end = space
    return text[:end].rstrip() + ELLIPSIS


def _character_boundary(text: str, end: int) -> int:
    """The largest cut position <= ``end`` that does not split a user-perceived character:
    not before a combining mark, a variation selector or a joiner, nor just after a joiner."""
    while end > 0 and (_continues(text[end]) or text[end - 1] in _JOINERS):
        end -= 1
    return end


def _continues(char: str) -> bool:
    if char in _JOINERS or unicodedata.combining(char):
        return True
    code = ord(char)
    return (
        0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or unicodedata.category(char) in ("Mn", "Mc", "Me")
    )


def fits(value: str | None, limit: int) -> str | None:
    """``value`` when it is at most ``limit`` characters, else None (for values that
    cannot be cut: a cut URL or validator would be a different, wrong one)."""
    if value is None or len(value) > limit:
        return None
    return value


def clip_list(values: list[str], *, each: int, most: int) -> list[str]:
    """At most ``most`` values, each cut to ``each`` characters."""
    return [clip(value, each) for value in values[:most]]
