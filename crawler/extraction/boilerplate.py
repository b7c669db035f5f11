"""Lines that belong to the page around an article, recognised by what they say.

Two rule groups survive cross-validation (docs/extraction.md): "promo" lines
inside a story ("Related: <headline>", "Читайте также: …", headline boxes
ending in "[VIDEO]") and a comment section cut from its header on, when the
header sits in the second half of the text. The other groups that used to be
here (picture credits, link lists, trailing sign-up/social/contact/legal/tag/
paywall lines in English and Russian) never raised F1 on training folds by
the required margin, so they were removed rather than kept as page rules.
"""

from __future__ import annotations

import re

from crawler.extraction.text import words

# A "see also" line inside the story: a label, then a headline.
_PROMO = re.compile(
    r"^\s*(?:related(?:\s+(?:articles?|stories|content|coverage|reading))?|read\s+more|see\s+more"
    r"|see\s+also|also\s+read|read\s+also|more|more\s+on\s+this|don'?t\s+miss|recommended"
    r"|watch|listen|trending|editor'?s\s+picks?|most\s+read|click\s+here|featured"
    r"|читайте\s+также|смотрите\s+также|также\s+читайте|по\s+теме|читать\s+также|подробнее"
    r"|это\s+интересно|новости\s+по\s+теме|материалы\s+по\s+теме)\s*(?:[:|»>\-–—]|\.\.\.|$)",
    re.IGNORECASE,
)
# Labels of a headline box ("Story title [VIDEO]"), common on tabloids' in-text promos.
_BRACKET_TAG = re.compile(
    r"\[(?:video|insight|reaction|pictures|photos|poll|live|latest)\]\W*$", re.IGNORECASE
)

ALL_RULES = frozenset({"promo", "comments"})
# Counters and headers that open a comment section.
_COMMENTS_START = re.compile(
    r"^\s*(?:\d+\s+(?:comments?|responses?|replies|thoughts\s+on)\b|comments?\s*(?:\(\d+\))?\s*$"
    r"|leave\s+a\s+(?:reply|comment)|comments\s+are\s+closed|\d+\s+комментари)",
    re.IGNORECASE,
)
_CLICK_TO_TWEET = re.compile(r"\s*click\s+to\s+tweet\s*$", re.IGNORECASE)
_MAX_PROMO_WORDS = 25


def is_promo(line: str) -> bool:
    return bool(
        (_PROMO.match(line) or _BRACKET_TAG.search(line)) and len(words(line)) <= _MAX_PROMO_WORDS
    )


def strip_inline(line: str) -> str:
    return _CLICK_TO_TWEET.sub("", line)


def cut_comments(paragraphs: list[str]) -> list[str]:
    """Drop a comment section: everything from its header on, if it sits in the last half."""
    start = len(paragraphs) // 2
    for i in range(max(1, start), len(paragraphs)):
        if _COMMENTS_START.match(paragraphs[i]):
            return paragraphs[:i]
    return paragraphs


def clean_paragraphs(paragraphs: list[str], rules: frozenset[str] = ALL_RULES) -> list[str]:
    """Apply the named rule groups (``ALL_RULES`` by default) to a candidate's paragraphs."""
    if "promo" in rules:
        paragraphs = [strip_inline(p) for p in paragraphs]
        paragraphs = [p for p in paragraphs if not is_promo(p)]
    paragraphs = [p for p in paragraphs if words(p)]
    if "comments" in rules:
        paragraphs = cut_comments(paragraphs)
    return paragraphs
