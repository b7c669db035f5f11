"""The feed spider: fetch each due feed, read its entries, complete them from article pages.

It only fetches and parses; storing, deduplicating and matching happen in the
item pipelines. The sources are read once, at start: the ones the runner chose
(``source_ids``), or, for a bare ``scrapy crawl feeds``, the named, all or due
ones. Which stories are already stored (so unchanged articles are not
downloaded again) is read for each feed's entries as the feed arrives. Both go
through the crawl's one database engine (``crawler.database``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import scrapy
from db import queries, sources
from db.models import Source, SourceKind
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler import failures
from crawler.database import CrawlDatabase
from crawler.extraction.model import ExtractionResult
from crawler.extractor import ArticleExtractor
from crawler.feeds import FeedEntry, ParsedFeed, parse_feed
from crawler.items import SourceFetchItem, StoryItem
from crawler.polling import PollHints
from crawler.source_kinds import OTHER_KINDS, SourceKindsMixin, response_hints
from crawler.telegram import parse_telegram_page
from crawler.urls import canonicalize_url, url_key


@dataclass(frozen=True)
class SourceRef:
    id: int
    name: str
    kind: SourceKind
    url: str
    language: str | None
    etag: str | None
    last_modified: str | None
    # A section source's own article-link rules (crawler.sections).
    link_rules: dict[str, Any] | None = None

    @classmethod
    def of(cls, source: Source) -> SourceRef:
        return cls(
            source.id,
            source.name,
            source.kind,
            source.url,
            source.language,
            source.etag,
            source.last_modified,
            source.link_rules,
        )


def complete_item(item: StoryItem, url: str, result: ExtractionResult) -> bool:
    """Fill the feed's entry from its extracted page; False (feed text kept) if none came."""
    item.url = url
    if not result.ok or result.article is None:
        item.extraction_method = "feed-summary"
        return False
    article = result.article
    item.body = article.body or item.body
    item.title = item.title or article.title or ""
    item.authors = item.authors or list(article.authors)
    if item.published is None and article.published is not None:
        item.published = article.published
    if article.language:
        item.language = article.language
        item.language_detected = True
    item.link_canonical = article.canonical_url
    item.extraction_method = article.method
    return True


class FeedSpider(SourceKindsMixin, scrapy.Spider):
    name = "feeds"
    database: CrawlDatabase  # set by from_crawler
    extractor: ArticleExtractor  # set by from_crawler

    def __init__(
        self,
        source: str | None = None,
        all: str | bool = False,
        run_id: str | int | None = None,
        source_ids: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source_names = [s for s in (source or "").split(",") if s]
        self.crawl_all = str(all).lower() in ("1", "true", "yes")
        self.run_id = int(run_id) if run_id not in (None, "") else None
        # The sources the runner chose ("" for none); None: choose them here.
        self.source_ids = (
            None if source_ids is None else [int(i) for i in source_ids.split(",") if i]
        )
        self.sources: list[SourceRef] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        spider: FeedSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.database = CrawlDatabase.of(crawler)
        spider.extractor = ArticleExtractor.from_crawler(crawler)
        return spider

    def _load_sources(self) -> list[SourceRef]:
        with self.database.sessions() as session:
            if self.source_ids is not None:
                rows = sources.sources_by_id(session=session, ids=self.source_ids)
            else:
                rows = sources.sources_for_crawl(
                    session=session,
                    now=datetime.now(UTC),
                    names=self.source_names,
                    crawl_all=self.crawl_all,
                )
            return [SourceRef.of(row) for row in rows]

    async def start(self) -> AsyncIterator[Any]:
        self.sources = self._load_sources()
        self.crawler.stats.set_value("wirewatch/sources_total", len(self.sources))
        for group in self._by_request(self.sources):
            if group[0].kind in OTHER_KINDS:
                for output in self.kind_start(group):
                    yield output
            else:
                yield self._feed_request(group)

    def _by_request(self, refs: list[SourceRef]) -> list[list[SourceRef]]:
        """Sources whose feed URLs are one request to Scrapy, together.

        The duplicate filter would drop the second request, and with it that
        source's outcome; one request answers for all of them instead. (Every
        worker of a distributed crawl groups the same way.)
        """
        fingerprint = self.crawler.request_fingerprinter.fingerprint
        groups: dict[bytes, list[SourceRef]] = {}
        for ref in refs:
            groups.setdefault(fingerprint(scrapy.Request(ref.url)), []).append(ref)
        return list(groups.values())

    def _feed_request(self, group: list[SourceRef]) -> scrapy.Request:
        ref = group[0]
        return scrapy.Request(
            ref.url,
            headers=self._validators(group),
            callback=self.parse_feed,
            errback=self.feed_failed,
            meta={"source": ref, "sharing": group[1:], "handle_httpstatus_list": [304]},
        )

    def _validators(self, group: list[SourceRef]) -> dict[str, str]:
        """Validators only when every source sharing the request holds the same ones."""
        ref = group[0]
        headers: dict[str, str] = {}
        if ref.etag and all(other.etag == ref.etag for other in group):
            headers["If-None-Match"] = ref.etag
        if ref.last_modified and all(o.last_modified == ref.last_modified for o in group):
            headers["If-Modified-Since"] = ref.last_modified
        return headers

    @staticmethod
    def _for_every_source(item: SourceFetchItem, meta: dict[str, Any]) -> Iterable[SourceFetchItem]:
        """The fetch's outcome for its source and for each source sharing its URL."""
        yield item
        for other in meta.get("sharing", ()):
            yield replace(item, source_id=other.id, source_name=other.name, url=other.url)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        ref: SourceRef = response.meta["source"]
        older_page = int(response.meta.get("telegram_page", 0))
        fetched_at = datetime.now(UTC)
        etag = _header(response, "ETag")
        last_modified = _header(response, "Last-Modified")
        if response.status == 304:
            yield from self._for_every_source(
                SourceFetchItem(
                    ref.id,
                    ref.name,
                    ref.url,
                    304,
                    etag=etag or ref.etag,
                    last_modified=last_modified or ref.last_modified,
                    not_modified=True,
                    hints=response_hints(response),
                ),
                response.meta,
            )
            return
        if ref.kind == SourceKind.TELEGRAM:
            feed = parse_telegram_page(response.body, base_url=response.url, fetched_at=fetched_at)
        else:
            feed = parse_feed(
                response.body,
                base_url=response.url,
                content_type=_header(response, "Content-Type"),
                fetched_at=fetched_at,
            )
        if older_page:
            # An older page of a channel whose newest page was read and recorded:
            # the source's fetch state (validators, health) stays that page's.
            if feed.malformed:
                self.crawler.stats.inc_value("wirewatch/telegram_older_page_failed")
                self.logger.warning("older Telegram page %s unreadable", response.url)
                return
        elif not feed.entries and feed.malformed:
            yield from self._for_every_source(
                SourceFetchItem(
                    ref.id,
                    ref.name,
                    ref.url,
                    response.status,
                    error=f"unreadable feed: {feed.malformed}",
                    malformed=feed.malformed,
                    hints=response_hints(response),
                ),
                response.meta,
            )
            return
        else:
            yield from self._for_every_source(
                SourceFetchItem(
                    ref.id,
                    ref.name,
                    ref.url,
                    response.status,
                    etag=etag,
                    last_modified=last_modified,
                    entries=len(feed.entries),
                    malformed=feed.malformed,
                    hints=response_hints(response, refresh_minutes=feed.refresh_minutes),
                    published=[e.published for e in feed.entries if e.published is not None],
                ),
                response.meta,
            )
        known = self._known_keys(feed.entries)
        if ref.kind == SourceKind.TELEGRAM:
            older = self._older_telegram_page(feed, ref, older_page, known)
            if older is not None:
                yield older
        # A Telegram post is its own full text; its permalink page adds nothing.
        follow = ref.kind != SourceKind.TELEGRAM and self.settings.getbool(
            "WIREWATCH_FOLLOW_ARTICLE_LINKS", True
        )
        language = feed.language or ref.language
        for entry in feed.entries:
            item = _item_from_entry(entry, ref, language, fetched_at)
            seen = known.get(url_key(canonicalize_url(entry.link)))
            if seen is not None and _unchanged(entry, seen):
                # Stored, and the feed shows no sign of a change: count it, don't
                # compare a feed summary with the stored article text.
                item.already_stored = True
                yield item
            elif entry.has_full_text or not follow:
                yield item
            else:
                yield scrapy.Request(
                    entry.link,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    meta={"item": item},
                )

    def _older_telegram_page(
        self,
        feed: ParsedFeed,
        ref: SourceRef,
        depth: int,
        known: dict[str, queries.KnownStory],
    ) -> scrapy.Request | None:
        """The next older preview page, while every post on this one is new.

        A preview shows a channel's newest 20 posts: a channel that posted more
        since the last crawl would lose the rest. The walk stops at a page that
        holds a stored post (the crawls have met), at the channel's first post,
        or after WIREWATCH_TELEGRAM_BACKFILL_PAGES pages.
        """
        limit = self.settings.getint("WIREWATCH_TELEGRAM_BACKFILL_PAGES", 5)
        if feed.older_page is None or depth >= limit or known:
            return None
        return scrapy.Request(
            feed.older_page,
            callback=self.parse_feed,
            errback=self.older_page_failed,
            meta={"source": ref, "telegram_page": depth + 1},
        )

    def older_page_failed(self, failure: Failure) -> None:
        """Logged and counted; the source stays healthy (its newest page was read)."""
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("wirewatch/telegram_older_page_failed")
        self.logger.warning(
            "older Telegram page %s failed (%s): posts older than the ones stored "
            "from the newer pages are not fetched this time",
            request.url,
            _describe_failure(failure),
        )

    def _known_keys(self, entries: list[FeedEntry]) -> dict[str, queries.KnownStory]:
        keys = [url_key(canonicalize_url(e.link)) for e in entries]
        with self.database.sessions() as session:
            return queries.known_story_keys(session=session, url_keys=keys)

    async def parse_article(self, response: Response) -> list[StoryItem]:
        """The entry completed from its page, extracted in a worker process (crawler.extractor)."""
        item: StoryItem = response.meta["item"]
        headers = {
            k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v
        }
        result = await self.extractor.extract(response.body, url=response.url, headers=headers)
        if not complete_item(item, response.url, result):
            self.crawler.stats.inc_value("wirewatch/extraction_failed")
            self.logger.warning("extraction failed for %s: %s", response.url, result.error)
            if result.over_limit:
                _note_skipped_page(self.crawler, item, response.url, result.error or "")
        return [item]

    def article_failed(self, failure: Failure) -> Iterator[StoryItem]:
        """The article page could not be fetched: keep the story with the feed's summary."""
        request = failure.request  # type: ignore[attr-defined]
        item: StoryItem = request.meta["item"]
        self.crawler.stats.inc_value("wirewatch/article_fetch_failed")
        self.logger.warning("article fetch failed for %s: %s", request.url, failure.value)
        item.extraction_method = "feed-summary"
        yield item

    def feed_failed(self, failure: Failure) -> Iterator[SourceFetchItem]:
        request = failure.request  # type: ignore[attr-defined]
        ref: SourceRef = request.meta["source"]
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        reason = _describe_failure(failure)
        hints = response_hints(response) if response is not None else PollHints()
        item = SourceFetchItem(ref.id, ref.name, ref.url, status, error=reason, hints=hints)
        yield from self._for_every_source(item, request.meta)


SKIPPED_PAGES_STAT = "wirewatch/extraction_over_limit"
MAX_NOTED_PAGES = 50


def _note_skipped_page(crawler: Crawler, item: StoryItem, url: str, reason: str) -> None:
    """Kept for the crawl run's error list (crawler.extensions), the first MAX_NOTED_PAGES."""
    crawler.stats.inc_value("wirewatch/extraction_over_limit_count")
    noted: list[dict[str, str]] = crawler.stats.get_value(SKIPPED_PAGES_STAT) or []
    if len(noted) < MAX_NOTED_PAGES:
        error = f"article page not extracted, story kept with its feed text: {reason}"
        noted.append({"source": item.source_name, "url": url, "error": error})
        crawler.stats.set_value(SKIPPED_PAGES_STAT, noted)


def _unchanged(entry: FeedEntry, seen: queries.KnownStory) -> bool:
    """No newer update date and the same headline: the page is not fetched again."""
    if seen.tombstoned:
        return True
    if entry.updated is not None and entry.updated > seen.fetched_at:
        return False
    return " ".join(entry.title.split()) == " ".join(seen.title.split()) or not entry.title


def _item_from_entry(
    entry: FeedEntry, ref: SourceRef, language: str | None, fetched_at: datetime
) -> StoryItem:
    return StoryItem.from_entry(
        entry,
        source_id=ref.id,
        source_name=ref.name,
        language=language,
        fetched_at=fetched_at,
        full_text=entry.has_full_text or ref.kind == SourceKind.TELEGRAM,
    )


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _describe_failure(failure: Failure) -> str:
    """One line naming the failure's class: ``DNS: ...``, ``HTTP 404: ...``, ``TLS: ...``."""
    request = getattr(failure, "request", None)
    url = request.url if request is not None else ""
    value = failure.value if failure.value is not None else Exception("unknown failure")
    return str(failures.classify(value, url))
