"""Feed bytes in, clean entries out.

feedparser only ever receives bytes fetched by our guarded downloader, never a
URL or a path (it would happily read local files). Malformed feeds follow
feedparser's "bozo" idea: keep every entry that parsed and report the problem
so it can be shown on the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from core import limits

from crawler.extraction import fix_mojibake
from crawler.extraction.encoding import transcode_feed
from crawler.jsonfeed import read_json_feed
from crawler.polling import feed_refresh_minutes
from crawler.text import html_to_text, normalise_whitespace

# A feed has no business declaring entities: refusing them outright closes
# billion-laughs and external-entity (XXE) attacks before any parser runs.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
FULL_TEXT_MIN_CHARS = 400
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class FeedEntry:
    link: str
    guid: str | None
    title: str
    summary: str
    content: str
    authors: list[str]
    published: datetime | None
    updated: datetime | None

    @property
    def has_full_text(self) -> bool:
        return len(self.content) >= FULL_TEXT_MIN_CHARS


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    language: str | None
    entries: list[FeedEntry]
    malformed: str | None = None
    skipped: list[str] = field(default_factory=list)
    # Where the entries older than these are (a Telegram preview's "more" link).
    older_page: str | None = None
    # Minutes the feed says it stays unchanged (RSS ttl, sy:updatePeriod/Frequency).
    refresh_minutes: float | None = None


def parse_feed(
    body: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    fetched_at: datetime | None = None,
) -> ParsedFeed:
    """Entries of an RSS/Atom/RDF document; never raises for bad content."""
    fetched_at = fetched_at or datetime.now(UTC)
    if _ENTITY_DECLARATION.search(body[:65536]):
        return ParsedFeed(
            title="",
            language=None,
            entries=[],
            malformed="feed declares XML entities; refused (entity expansion / external entities)",
        )
    json_feed = read_json_feed(body)
    if json_feed is not None:
        return _entries_of(
            json_feed.items,
            title=json_feed.title,
            language=json_feed.language,
            base_url=base_url,
            fetched_at=fetched_at,
            malformed=None,
        )
    body, content_type = transcode_feed(body, content_type)
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    malformed = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        malformed = f"{type(exc).__name__}: {exc}" if exc else "malformed feed"
    if not parsed.get("version") and not parsed.entries:
        return ParsedFeed(
            title="",
            language=None,
            entries=[],
            malformed=malformed or "not an RSS or Atom feed",
        )
    feed_meta = parsed.get("feed", {})
    return _entries_of(
        parsed.entries,
        title=str(feed_meta.get("title", "")),
        language=feed_meta.get("language"),
        base_url=base_url,
        fetched_at=fetched_at,
        malformed=malformed,
        refresh_minutes=feed_refresh_minutes(
            _text(feed_meta.get("ttl")),
            _text(feed_meta.get("sy_updateperiod")),
            _text(feed_meta.get("sy_updatefrequency")),
        ),
    )


def _entries_of(
    raws: list[Any],
    *,
    title: str,
    language: str | None,
    base_url: str,
    fetched_at: datetime,
    malformed: str | None,
    refresh_minutes: float | None = None,
) -> ParsedFeed:
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    for raw in raws:
        entry, reason = _entry(raw, base_url=base_url, fetched_at=fetched_at)
        if entry is None:
            skipped.append(reason)
        else:
            entries.append(entry)
    return ParsedFeed(
        title=fix_mojibake(html_to_text(title)),
        language=language,
        entries=entries,
        malformed=malformed,
        skipped=skipped,
        refresh_minutes=refresh_minutes,
    )


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def _entry(raw: Any, *, base_url: str, fetched_at: datetime) -> tuple[FeedEntry | None, str]:
    link = _entry_link(raw, base_url)
    if link is None:
        return None, f"entry {raw.get('id') or raw.get('title', '')!r} has no http(s) link"
    title = _field_text(str(raw.get("title", "")), limits.TITLE_CHARS)
    summary = _field_text(str(raw.get("summary", "")), limits.SUMMARY_CHARS)
    content = _full_text(raw)
    if content and content == summary:
        summary = _lead(content)
    authors = _authors(raw)
    published = _date(raw, "published", fetched_at) or _date(raw, "updated", fetched_at)
    updated = _date(raw, "updated", fetched_at)
    return (
        FeedEntry(
            link=link,
            guid=str(raw.get("id")) if raw.get("id") else None,
            title=title,
            summary=summary,
            content=content,
            authors=authors,
            published=published,
            updated=updated,
        ),
        "",
    )


def _entry_link(raw: Any, base_url: str) -> str | None:
    candidates = [raw.get("link")]
    candidates += [
        link.get("href") for link in raw.get("links", []) if link.get("rel") in (None, "alternate")
    ]
    guid = raw.get("id")
    if guid and raw.get("guidislink", False):
        candidates.append(guid)
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(base_url, str(candidate).strip())
        if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).netloc:
            return absolute
    return None


# How much markup a field may carry around its text: a field is cut to this many
# times its stored limit before markup is stripped and mojibake repaired, work that
# grows with the input (a 5 MB title took minutes), and to its limit after.
_MARKUP_ALLOWANCE = 3


def _field_text(value: str, limit: int) -> str:
    """A field's text, repaired and cut to ``limit`` characters (``core.limits``)."""
    bound = limit * _MARKUP_ALLOWANCE
    text = fix_mojibake(html_to_text(value[:bound]))
    return limits.clip(text, limit, cut=len(value) > bound)


def _full_text(raw: Any) -> str:
    for item in raw.get("content", []) or []:
        value = item.get("value")
        if value:
            return _field_text(str(value), limits.BODY_CHARS)
    for key in ("yandex_full-text", "yandex_fulltext", "turbo_content"):
        if raw.get(key):
            return _field_text(str(raw.get(key)), limits.BODY_CHARS)
    return ""


def _lead(text: str) -> str:
    first = text.split("\n\n", 1)[0]
    return first if len(first) <= 600 else first[:600].rsplit(" ", 1)[0] + "…"


def _authors(raw: Any) -> list[str]:
    names = [str(a.get("name", "")).strip() for a in raw.get("authors", []) or []]
    names = [n for n in names if n]
    if not names and raw.get("author"):
        names = [str(raw.get("author")).strip()]
    return [normalise_whitespace(n) for n in names][:10]


def _date(raw: Any, key: str, fetched_at: datetime) -> datetime | None:
    # dict.get, not the FeedParserDict one: that one quietly answers "updated"
    # with the published date (and warns), which would hide real updates.
    parsed = dict.get(raw, f"{key}_parsed")
    text = dict.get(raw, key)
    value: datetime | None = None
    if parsed:
        year, month, day, hour, minute, second = parsed[:6]
        value = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    elif text:
        value = parse_loose_date(str(text), fetched_at=fetched_at)
    if value is None:
        return None
    # A date in the future is a publisher's mistake (or a time-zone slip): clamp it.
    return min(value, fetched_at + FUTURE_TOLERANCE)


def parse_loose_date(text: str, *, fetched_at: datetime) -> datetime | None:
    """Russian and English dates, absolute or relative ("вчера в 14:30", "2 часа назад")."""
    import dateparser  # imported late: most feeds date their entries in RFC 822 or ISO 8601

    settings: Any = {
        "RELATIVE_BASE": fetched_at.astimezone(UTC).replace(tzinfo=None),
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
    }
    try:
        value = dateparser.parse(text, languages=["ru", "en"], settings=settings)
    except (ValueError, OverflowError):
        return None
    return value.astimezone(UTC) if value else None
