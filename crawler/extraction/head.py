"""The block of page metadata above an article's first paragraph.

Many outlets print, inside the article container and so inside what the
extractors return, a header of lines about the story rather than of it: a
breadcrumb trail that ends in the headline ("» Сиёсат » <headline>"), the
headline again, the date and time, the byline ("Муаллиф: …", "By …") and a
view counter ("Дида шуд: 853"). Left in the body they open every snippet,
double the headline's weight in matching and event signatures, and cost
precision against the ground truth, which holds only the story.

Only the run of such lines at the very start goes: a date or a name inside
the story is text, and the first line that is not metadata ends the header.
"""

from __future__ import annotations

import re

from crawler.extraction.text import normalized, words

# Separators of a breadcrumb trail.
_CRUMB = re.compile(r"[»›>/|→]")
_MAX_CRUMB_WORDS = 6

# Words a dateline is made of, besides figures: months and weekdays (en, ru and
# tj, in every case form) and the labels and zones around a time stamp.
_CALENDAR_WORD = re.compile(
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?"
    r"|sun(?:day)?"
    r"|(?:январ|феврал|апрел|июн|июл|сентябр|октябр|ноябр|декабр)(?:ь|я|е|и)?|марта?|марти"
    r"|ма[йяи]|майи|августа?|августи"
    r"|понедельник|вторник|среда|среду|четверг|пятница|пятницу|суббота|субботу|воскресенье"
    r"|душанбе|сешанбе|чоршанбе|панҷшанбе|ҷумъа|шанбе|якшанбе)"
)
_DATE_WORDS = frozenset(
    {
        "updated",
        "published",
        "posted",
        "last",
        "at",
        "on",
        "am",
        "pm",
        "utc",
        "gmt",
        "bst",
        "est",
        "edt",
        "msk",
        "мск",
        "г",
        "года",
        "год",
        "гг",
        "в",
        "опубликовано",
        "обновлено",
        "дата",
        "публикации",
        "соли",
        "сол",
        "соат",
        "санаи",
        "нашр",
    }
)
_MAX_DATE_WORDS = 12

# A byline: a label, then a name or two. "By" without a colon only before capitalised words.
_BYLINE_LABEL = re.compile(
    r"^\s*(?:author|authors|text|written\s+by|reporting\s+by|автор|авторы|текст|муаллиф|муаллифон"
    r"|матн)\s*[:\-–—]\s*\S",
    re.IGNORECASE,
)
_BY = re.compile(r"^\s*by\s+(.+)$", re.IGNORECASE)
_MAX_BYLINE_WORDS = 8

# A view or comment counter.
_COUNTER = re.compile(
    r"^\s*(?:views?|просмотр(?:ов|ы)?|дида\s+шуд|шумораи\s+дидан|comments?|комментари\w*)"
    r"\s*[:\-–—]?\s*\d[\d\s.,]*\s*$",
    re.IGNORECASE,
)


def is_crumb_title(line: str, titles: list[str]) -> bool:
    """A breadcrumb trail ending in the headline: "» Сиёсат » <headline>"."""
    if not _CRUMB.search(line):
        return False
    text = normalized(line)
    for title in titles:
        norm = normalized(title)
        if norm and text.endswith(norm) and text != norm:
            lead = text[: -len(norm)].split()
            if len(lead) <= _MAX_CRUMB_WORDS:
                return True
    return False


def is_dateline(line: str) -> bool:
    """A line that is only a date or time stamp ("5 ноябри 2026, 16:40", "Updated Nov 3, 2026")."""
    tokens = [w.lower() for w in words(line)]
    if not tokens or len(tokens) > _MAX_DATE_WORDS:
        return False
    figures = [t for t in tokens if t.isdigit()]
    named = [t for t in tokens if not t.isdigit()]
    if not figures:
        return False
    months = 0
    for token in named:
        if token in _DATE_WORDS:
            continue
        if not _CALENDAR_WORD.fullmatch(token):
            return False
        months += 1
    # A bare figure is not a date; a figure with a month or time separators is.
    return months > 0 or bool(re.search(r"\d[:.\-/]\d", line))


def is_byline(line: str) -> bool:
    """A byline: "Муаллиф: Дилноза Ҳакимова", "Автор: …", "By Jane Doe and John Roe"."""
    if len(words(line)) > _MAX_BYLINE_WORDS:
        return False
    if _BYLINE_LABEL.match(line):
        return True
    by = _BY.match(line)
    if by is None:
        return False
    names = [w for w in words(by.group(1)) if w.lower() not in {"and", "и", "ва"}]
    return bool(names) and all(w[0].isupper() for w in names)


def is_counter(line: str) -> bool:
    return bool(_COUNTER.match(line))


def drop_head(paragraphs: list[str], titles: list[str]) -> list[str]:
    """Drop the run of metadata lines (crumbs, headline, date, byline, counter) at the start."""
    norms = {normalized(t) for t in titles if t}
    start = 0
    while start < len(paragraphs):
        line = paragraphs[start]
        if not (
            normalized(line) in norms
            or is_crumb_title(line, titles)
            or is_dateline(line)
            or is_byline(line)
            or is_counter(line)
        ):
            break
        start += 1
    return paragraphs[start:]
