"""Sitemaps and news sitemaps: what a site lists, and which of it is recent.

A sitemap is either an index of other sitemaps or a ``urlset`` of pages, each
with an optional ``lastmod``; a news sitemap adds ``news:news`` with the
article's title, publication date and language. Only recent entries matter to
a news watch (a site's sitemap lists its whole archive), so entries and child
sitemaps older than the window are dropped here, and an entry with no date at
all is dropped too: without one there is no telling a new article from a
ten-year-old one.

Parsing goes through defusedxml (no entity expansion, no external entities,
no DTD fetches); gzip-compressed sitemaps are inflated up to a size cap.
Where a site keeps its sitemaps is read from robots.txt (protego) and, failing
that, the usual names.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from protego import Protego

from crawler.feeds import FUTURE_TOLERANCE, parse_loose_date

# Where sites keep their sitemaps when robots.txt does not say, most specific first.
USUAL_NAMES = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap.xml", "/sitemap_index.xml")
MAX_INFLATED_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """The document is not a sitemap (or not readable as one); the message says why."""


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None
    # From news:news, when present.
    title: str = ""
    published: datetime | None = None
    language: str | None = None

    @property
    def when(self) -> datetime | None:
        """The entry's best date: its publication date, else its last modification."""
        return self.published or self.lastmod


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: list[SitemapEntry] = field(default_factory=list)

    def recent(self, *, now: datetime, window: timedelta) -> list[SitemapEntry]:
        """Entries dated within ``window`` before ``now``; child sitemaps of an index
        may be undated (many indexes carry no lastmod) and are kept then."""
        start = now - window
        kept = []
        for entry in self.entries:
            when = entry.when
            if when is None:
                if self.is_index:
                    kept.append(entry)
            elif when >= start:
                kept.append(entry)
        # Newest first, so a per-crawl cap keeps the newest articles.
        return sorted(kept, key=lambda e: e.when or now, reverse=True)


def looks_like_sitemap(body: bytes) -> bool:
    """A quick look at the start of a response: a sitemap, or something else?"""
    try:
        head = _inflate(body)[:2048] if body.startswith(_GZIP_MAGIC) else body[:2048]
    except SitemapError:
        return False
    return b"<urlset" in head.lower() or b"<sitemapindex" in head.lower()


def parse_sitemap(body: bytes, *, base_url: str, fetched_at: datetime | None = None) -> Sitemap:
    """A sitemap index or urlset; raises SitemapError for anything else."""
    fetched_at = fetched_at or datetime.now(UTC)
    data = _inflate(body) if body.startswith(_GZIP_MAGIC) else body
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise SitemapError(f"not readable as XML: {type(exc).__name__}: {exc}") from exc
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(
            f"not a sitemap: the document is <{kind}>, not <urlset> or <sitemapindex>"
        )
    child = "sitemap" if kind == "sitemapindex" else "url"
    entries = [
        entry
        for node in root
        if _local(node.tag) == child
        for entry in [_entry(node, base_url, fetched_at)]
        if entry is not None
    ]
    return Sitemap(is_index=kind == "sitemapindex", entries=entries)


def sitemaps_in_robots(robots_txt: str, *, base_url: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt, as absolute http(s) URLs."""
    found = []
    for url in Protego.parse(robots_txt).sitemaps:
        absolute = urljoin(base_url, url.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            found.append(absolute)
    return found


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def usual_locations(url: str) -> list[str]:
    base = origin(url)
    return [base + name for name in USUAL_NAMES]


def _entry(node: Element, base_url: str, fetched_at: datetime) -> SitemapEntry | None:
    loc = ""
    lastmod: datetime | None = None
    title = ""
    published: datetime | None = None
    language: str | None = None
    for part in node:
        name = _local(part.tag)
        if name == "loc":
            loc = (part.text or "").strip()
        elif name == "lastmod":
            lastmod = _date(part.text, fetched_at)
        elif name == "news":
            for item in _walk(part):
                inner = _local(item.tag)
                if inner == "title":
                    title = " ".join((item.text or "").split())
                elif inner == "publication_date":
                    published = _date(item.text, fetched_at)
                elif inner == "language":
                    language = (item.text or "").strip().lower() or None
    if not loc:
        return None
    absolute = urljoin(base_url, loc)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return SitemapEntry(absolute, lastmod, title, published, language)


def _walk(node: Element) -> Iterator[Element]:
    for child in node:
        yield child
        yield from _walk(child)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1].lower()


def _date(text: str | None, fetched_at: datetime) -> datetime | None:
    if not text or not text.strip():
        return None
    value: datetime | None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        value = parse_loose_date(text.strip(), fetched_at=fetched_at)
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return min(value.astimezone(UTC), fetched_at + FUTURE_TOLERANCE)


def _inflate(body: bytes) -> bytes:
    """A gzip-compressed sitemap, inflated; refuses one that inflates past the cap."""
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            data = stream.read(MAX_INFLATED_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SitemapError(f"gzip sitemap could not be inflated: {exc}") from exc
    if len(data) > MAX_INFLATED_BYTES:
        raise SitemapError(f"gzip sitemap inflates past {MAX_INFLATED_BYTES} bytes; refused")
    return data
