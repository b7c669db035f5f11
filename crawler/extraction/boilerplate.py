"""Lines that belong to the page around an article, recognised by what they say.

Main-content extractors keep the article's container, and publishers put
their sign-up boxes, "related" links, share prompts, bylines-with-contact and
comment headers inside it. These rules are phrased as general patterns in
English and Russian, never tied to one site: a newsletter prompt at the end of
an article reads the same on every site. Trailing rules only strip from the
end backwards, so a sentence that happens to mention "subscribe" in the
middle of a story stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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

# Picture credits: "Фото: Дмитрий Азаров, Коммерсантъ", "Photo: AP", "(Image credit: NASA)".
_CREDIT = re.compile(
    r"^\W*(?:фото|photo|photograph|image|picture|иллюстрация|кадр)(?:\s+credit)?\s*[:©]",
    re.IGNORECASE,
)
_MAX_CREDIT_WORDS = 12
# Lines that end an article: contact, sign-up, social, legal, comment headers.
_SOCIAL = r"(?:twitter|facebook|instagram|telegram|youtube|tiktok|linkedin|whatsapp|vk|x)"
_TRAILING = re.compile(
    r"(?:"
    r"sign\s+up\s+(?:for|to|here|now)|subscribe\s+(?:to|now|for|today|here)|newsletters?\b"
    r"|in\s+your\s+inbox|delivered\s+(?:to|through)\s+your"
    rf"|follow\s+(?:us|him|her|them|@\w+|\w+\s+on\s+{_SOCIAL})|(?:find|like|join)\s+us\s+on"
    rf"|share\s+(?:this\s+(?:article|story|post|page)|on\s+{_SOCIAL})|click\s+to\s+(?:share|tweet)"
    r"|have\s+a\s+(?:news\s+)?tip|(?:may|can)\s+be\s+reached\s+at|contact\s+the\s+(?:author|reporter)"
    r"|all\s+rights\s+reserved|copyright\s+(?:©|\d{4})|©\s*\d{4}|\(c\)\s*\d{4}"
    r"|comments?\s+are\s+closed|leave\s+a\s+(?:reply|comment)|post\s+a\s+comment|add\s+a\s+comment"
    r"|tell\s+us\s+what\s+you\s+think|what\s+do\s+you\s+think\?|join\s+the\s+conversation"
    r"|filed\s+under|^\s*(?:tags?|topics?|categories|posted\s+in)\s*:"
    r"|get\s+access\s+to|for\s+as\s+little\s+as|download\s+(?:our|the)\s+app"
    r"|listen\s+to\s+\w+\s+live|image\s+(?:copyright|caption)"
    r"|подписывайтесь|подпишитесь|(?:наш|наш\w*)\s+(?:телеграм|telegram)|читайте\s+нас"
    r"|присоединяйтесь\s+к\s+нам|все\s+права\s+защищены"
    r"|при\s+(?:использовании|цитировании|перепечатке)\s+материал|перепечатка"
    r"|^\s*теги\s*:|оставьте\s+комментарий"
    r")",
    re.IGNORECASE,
)
# Counters and headers that open a comment section.
_COMMENTS_START = re.compile(
    r"^\s*(?:\d+\s+(?:comments?|responses?|replies|thoughts\s+on)\b|comments?\s*(?:\(\d+\))?\s*$"
    r"|leave\s+a\s+(?:reply|comment)|comments\s+are\s+closed|\d+\s+комментари)",
    re.IGNORECASE,
)
_CLICK_TO_TWEET = re.compile(r"\s*click\s+to\s+tweet\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-•*–]\s+")
_MAX_TRAILING_WORDS = 45
_MAX_PROMO_WORDS = 25


def is_promo(line: str) -> bool:
    return bool(
        (_PROMO.match(line) or _BRACKET_TAG.search(line)) and len(words(line)) <= _MAX_PROMO_WORDS
    )


def is_credit(line: str) -> bool:
    return bool(_CREDIT.match(line)) and len(words(line)) <= _MAX_CREDIT_WORDS


def is_trailing_boilerplate(line: str) -> bool:
    return len(words(line)) <= _MAX_TRAILING_WORDS and bool(_TRAILING.search(line))


def strip_inline(line: str) -> str:
    return _CLICK_TO_TWEET.sub("", line)


def cut_comments(paragraphs: list[str]) -> list[str]:
    """Drop a comment section: everything from its header on, if it sits in the last half."""
    start = len(paragraphs) // 2
    for i in range(max(1, start), len(paragraphs)):
        if _COMMENTS_START.match(paragraphs[i]):
            return paragraphs[:i]
    return paragraphs


def drop_link_lists(paragraphs: list[str], is_link_text: Callable[[str], bool]) -> list[str]:
    """Remove runs of two or more bullet lines that are each nothing but a link: 'more stories'."""
    keep = [True] * len(paragraphs)
    i = 0
    while i < len(paragraphs):
        j = i
        while (
            j < len(paragraphs)
            and _BULLET.match(paragraphs[j])
            and is_link_text(_BULLET.sub("", paragraphs[j]))
        ):
            j += 1
        if j - i >= 2:
            keep[i:j] = [False] * (j - i)
        i = max(j, i + 1)
    return [p for p, k in zip(paragraphs, keep, strict=True) if k]


def strip_trailing(paragraphs: list[str], is_link_text: Callable[[str], bool]) -> list[str]:
    end = len(paragraphs)
    while end > 1:
        line = paragraphs[end - 1]
        if (
            is_trailing_boilerplate(line)
            or is_promo(line)
            or (_BULLET.match(line) and is_link_text(_BULLET.sub("", line)))
        ):
            end -= 1
        else:
            break
    return paragraphs[:end]


def clean_paragraphs(paragraphs: list[str], is_link_text: Callable[[str], bool]) -> list[str]:
    paragraphs = [strip_inline(p) for p in paragraphs]
    paragraphs = [p for p in paragraphs if words(p) and not is_promo(p) and not is_credit(p)]
    paragraphs = cut_comments(paragraphs)
    paragraphs = drop_link_lists(paragraphs, is_link_text)
    return strip_trailing(paragraphs, is_link_text)
