"""Publication and modification times, always timezone-aware.

Evidence in order of trust: JSON-LD, then meta tags and ``<time datetime>``,
then a date written in a page's date/byline element (Russian and English month
names, "5 марта 2024, 14:30", "12.01.2023 10:15"), then htmldate's markup
heuristics. A time without an offset takes the offset the page uses
elsewhere, or UTC. A date later than the fetch time plus one day is a
scheduling artefact or a typo and is dropped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from htmldate import find_date
from lxml.html import HtmlElement

from crawler.extraction.jsonld import JsonLdArticle
from crawler.extraction.page_meta import PageMeta

PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished",
    "article.published", "published_time", "publish-date", "publishdate", "pubdate",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dcterms.issued", "dc.date",
    "dcterms.created", "dc.date.created", "date", "citation_publication_date",
    "mediator_published_time", "article:published", "datecreated",
)  # fmt: skip
MODIFIED_KEYS = (
    "article:modified_time", "og:updated_time", "datemodified", "article.updated",
    "dc.date.modified", "dcterms.modified", "last-modified", "lastmod", "article:modified",
)  # fmt: skip
FUTURE_TOLERANCE = timedelta(days=1)

_MONTHS = (
    "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    "январь|февраль|март|апрель|май|июнь|июль|август|сентябрь|октябрь|ноябрь|декабрь|"
    "янв|фев|мар|апр|июн|июл|авг|сен|сент|окт|ноя|дек|"
    "січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня|"
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_TIME = r"\d{1,2}:\d{2}"
_TEXT_DATE = re.compile(
    rf"(?:{_TIME},?\s+)?"
    rf"(?:\d{{1,2}}\s+(?:{_MONTHS})\.?,?\s+\d{{4}}|(?:{_MONTHS})\.?\s+\d{{1,2}},?\s+\d{{4}}"
    rf"|\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}})"
    rf"(?:\s*(?:года|г\.?)(?!\w))?(?:[,\s|]+(?:в\s+|at\s+)?{_TIME}(?:\s*[ap]\.?m\.?)?)?",
    re.IGNORECASE,
)
_DATE_HINT = re.compile(r"date|time|publish|posted|byline|meta|created|updated|дата", re.IGNORECASE)
_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "RETURN_AS_TIMEZONE_AWARE": False,
    "REQUIRE_PARTS": ["day", "month", "year"],
}
_MAX_DATE_ELEMENTS = 40
_DATE_LABEL = re.compile(
    r"\s*(?:date|datum|дата|сана|published|posted|опубликовано|fecha|data)\b", re.IGNORECASE
)
_DATE_TAGS = frozenset({"time", "span", "div", "p", "li", "small", "a"})


def parse_datetime(value: str) -> datetime | None:
    """ISO 8601 or RFC 822 as found in metadata; naive when the source gave no offset."""
    value = value.strip()
    if not value:
        return None
    iso = value.replace("Z", "+00:00").replace("z", "+00:00")
    # "10:15-500": an offset written without its leading zero.
    iso = re.sub(r"(T\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?[+-])(\d{3})$", r"\g<1>0\2", iso)
    if re.fullmatch(r".*[+-]\d{4}", iso) and "T" in iso:
        iso = iso[:-2] + ":" + iso[-2:]
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        pass
    match = _TEXT_DATE.search(value)
    return parse_text_date(match.group(0)) if match else None


def parse_text_date(text: str) -> datetime | None:
    """A date written for people ("5 марта 2024, 14:30"); needs day, month and year.

    Relative dates ("вчера") are refused: they mean nothing without knowing when
    the page was rendered, which a cached page does not tell.
    """
    import dateparser  # imported late: loading its language data costs a fifth of a second

    match = _TEXT_DATE.search(text)
    if match is None:
        return None
    parsed = dateparser.parse(
        match.group(0), languages=["ru", "uk", "en"], settings=_DATEPARSER_SETTINGS
    )
    return parsed if isinstance(parsed, datetime) else None


def _in_link(el: HtmlElement) -> bool:
    return any(a.tag == "a" for a in el.iterancestors())


def _dates_in_elements(tree: HtmlElement) -> list[datetime]:
    """Dates in date-like elements, nearest to the headline first; teaser links come last."""
    found: list[tuple[int, str]] = []
    headline = None
    for index, el in enumerate(tree.iter()):
        if el.tag == "h1" and headline is None:
            headline = index
        if el.tag not in _DATE_TAGS or len(found) >= _MAX_DATE_ELEMENTS:
            continue
        hint = f"{el.get('class', '')} {el.get('id', '')} {el.get('itemprop', '')}"
        text = " ".join(el.text_content().split())
        labelled = len(text) <= 120 and _DATE_LABEL.match(text)
        if el.tag != "time" and not labelled and not _DATE_HINT.search(hint):
            continue
        match = _TEXT_DATE.search(text[:200])
        if match:
            rank = index + (100_000 if _in_link(el) else 0)
            found.append((rank, match.group(0)))
    anchor = headline or 0
    found.sort(key=lambda item: abs(item[0] - anchor))
    parsed = (parse_text_date(text) for _, text in found[:5])
    return [d for d in parsed if d is not None]


class DateFinder:
    """Finds the page's dates; ``now`` is the fetch time that bounds the future."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def find(
        self, tree: HtmlElement, meta: PageMeta, jsonld: JsonLdArticle | None
    ) -> tuple[datetime | None, datetime | None]:
        published_raw = [jsonld.published] if jsonld and jsonld.published else []
        published_raw += meta.all(*PUBLISHED_KEYS)
        modified_raw = [jsonld.modified] if jsonld and jsonld.modified else []
        modified_raw += meta.all(*MODIFIED_KEYS)
        published = [d for d in map(parse_datetime, published_raw) if d]
        modified = [d for d in map(parse_datetime, modified_raw) if d]
        times = [d for d in map(parse_datetime, _time_attributes(tree)) if d]
        day_only = {
            d
            for raw, d in zip(published_raw, map(parse_datetime, published_raw), strict=True)
            if d and not _has_time(raw)
        }
        if day_only:
            # "2016-12-15" says less than "2016-12-15T15:33-05:00" for the same day.
            timed = [d for d in published + times if d not in day_only]
            published = [
                next((t for t in timed if t.date() == d.date()), d) if d in day_only else d
                for d in published
            ]
        # <time datetime> only votes: it may belong to a teaser as well as to the article.
        voters = published + times
        if not published:
            published = times
        if not published:
            published = _dates_in_elements(tree)[:1]
        if not published:
            published = [d for d in [_htmldate(tree)] if d]
        offset = next((d.tzinfo for d in published + modified if d.tzinfo), None)
        if offset is None and published:
            offset = visible_zone(tree, published[0])
        return (
            self._best_supported(published, voters, offset),
            self._first_valid(modified, offset),
        )

    def _valid(self, dates: list[datetime], offset: tzinfo | None) -> list[datetime]:
        aware = [_aware(value, offset) for value in dates]
        return [d for d in aware if d <= self.now + FUTURE_TOLERANCE and d.year >= 1995]

    def _first_valid(self, dates: list[datetime], offset: tzinfo | None) -> datetime | None:
        return next(iter(self._valid(dates, offset)), None)

    def _best_supported(
        self, dates: list[datetime], voters: list[datetime], offset: tzinfo | None
    ) -> datetime | None:
        """The candidate most of the page's statements agree on; ties go to the more trusted.

        A JSON-LD date that two agreeing meta tags or <time> elements contradict
        is a republication or a template's date, not the article's.
        """
        candidates = self._valid(dates, offset)
        stated = self._valid(voters, offset)

        def support(index: int) -> tuple[int, int]:
            mine = candidates[index]
            agreeing = sum(1 for d in stated if abs((d - mine).total_seconds()) <= 60)
            return agreeing, -index

        return candidates[max(range(len(candidates)), key=support)] if candidates else None


def _has_time(raw: str) -> bool:
    return bool(re.search(r"\d{1,2}:\d{2}", raw))


def _aware(value: datetime, offset: tzinfo | None) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=offset or UTC)


# Zone names written after a time in datelines ("1:28 AM ET", "02.00 GMT").
_ZONES = {
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "gmt": "UTC", "utc": "UTC", "bst": "Europe/London", "cet": "Europe/Berlin",
    "cest": "Europe/Berlin", "msk": "Europe/Moscow", "мск": "Europe/Moscow",
}  # fmt: skip
_ZONED_TIME = re.compile(
    r"(?<![\d:])(\d{1,2})[:.](\d{2})\s*([ap])?\.?\s*m?\.?\s*\b("
    + "|".join(sorted(_ZONES, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


def visible_zone(tree: HtmlElement, naive: datetime) -> tzinfo | None:
    """The zone a dateline names for the same clock time as a metadata time without offset."""
    if naive.tzinfo is not None:
        return None
    for el in tree.iter("time", "span", "div", "p", "li"):
        hint = f"{el.get('class', '')} {el.get('id', '')}"
        if el.tag != "time" and not _DATE_HINT.search(hint):
            continue
        text = " ".join(el.text_content().split())[:200]
        for match in _ZONED_TIME.finditer(text):
            hour, minute = int(match.group(1)), int(match.group(2))
            meridiem = (match.group(3) or "").lower()
            hour = hour % 12 + (12 if meridiem == "p" else 0) if meridiem else hour
            if (hour, minute) == (naive.hour, naive.minute):
                try:
                    zone = ZoneInfo(_ZONES[match.group(4).lower()])
                except ZoneInfoNotFoundError:
                    return None
                return _fixed(naive, zone)
    return None


def _fixed(naive: datetime, zone: ZoneInfo) -> tzinfo:
    """The zone's offset on that day, as a fixed offset (what the page meant then)."""
    offset = naive.replace(tzinfo=zone).utcoffset()
    return timezone(offset) if offset is not None else UTC


def _time_attributes(tree: HtmlElement) -> list[str]:
    return [t.get("datetime", "") for t in tree.iter("time") if t.get("datetime")][:3]


def _htmldate(tree: HtmlElement) -> datetime | None:
    try:
        found = find_date(tree, extensive_search=False, original_date=True)
    except (ValueError, TypeError):
        return None
    if not found:
        return None
    try:
        return datetime.fromisoformat(found)
    except ValueError:
        return None
