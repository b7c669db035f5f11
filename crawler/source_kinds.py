"""Crawling the source kinds that are not one feed: sitemaps, section pages, search feeds.

The feed spider hands each such source to these callbacks (``FeedSpider``
mixes them in); what a page means is decided in ``crawler.sitemaps``,
``crawler.sections`` and ``crawler.search_feeds``. Like a feed, each source
yields one ``SourceFetchItem`` per crawl (its health, validators and polling
hints) and a story item per new article. An article already stored is never
fetched again; a new one is fetched once and extracted like a feed's article
pages (``parse_article``); one whose page cannot be fetched is left for the
next crawl rather than stored as a bare link.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import scrapy
from db import queries
from db.models import SourceKind
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.feeds import parse_feed
from crawler.items import SourceFetchItem, StoryItem
from crawler.polling import PollHints, cache_max_age_minutes, retry_after_minutes
from crawler.search_feeds import SearchRequest, SearchTemplateError, search_requests
from crawler.sections import LinkRulesError, find_article_links
from crawler.sitemaps import (
    SitemapEntry,
    SitemapError,
    looks_like_sitemap,
    origin,
    parse_sitemap,
    sitemaps_in_robots,
    usual_locations,
)
from crawler.urls import canonicalize_url, url_key

if TYPE_CHECKING:
    from crawler.spiders.feeds import SourceRef

OTHER_KINDS = frozenset({SourceKind.SITEMAP, SourceKind.SECTION, SourceKind.SEARCH})
# Child sitemaps of an index read per crawl, and how deep indexes may nest.
MAX_CHILD_SITEMAPS = 20
MAX_SITEMAP_DEPTH = 2
_SOFT_STATUSES = [304, 400, 401, 403, 404, 410]


def response_hints(response: Response, *, refresh_minutes: float | None = None) -> PollHints:
    """What a response said about when to come back."""
    now = datetime.now(UTC)
    return PollHints(
        feed_minutes=refresh_minutes,
        max_age_minutes=cache_max_age_minutes(_header(response, "Cache-Control")),
        retry_after_minutes=retry_after_minutes(_header(response, "Retry-After"), now=now),
    )


class SourceKindsMixin:
    """Callbacks for sitemap, section and search sources; mixed into ``FeedSpider``."""

    # Provided by the spider.
    crawler: Any
    settings: Any
    logger: Any
    database: Any

    if TYPE_CHECKING:

        async def parse_article(self, response: Response) -> list[StoryItem]: ...

        @staticmethod
        def _for_every_source(
            item: SourceFetchItem, meta: dict[str, Any]
        ) -> Iterable[SourceFetchItem]: ...

        def _validators(self, group: list[SourceRef]) -> dict[str, str]: ...

    # --- dispatch ------------------------------------------------------------

    def kind_start(self, group: list[SourceRef]) -> Iterator[Any]:
        """The first request (or, when there is nothing to fetch, the outcome) of a source."""
        ref = group[0]
        meta: dict[str, Any] = {"source": ref, "sharing": group[1:]}
        if ref.kind == SourceKind.SEARCH:
            yield from self._search_start(ref, meta)
            return
        callback = (
            self.parse_sitemap_source if ref.kind == SourceKind.SITEMAP else self.parse_section
        )
        yield scrapy.Request(
            ref.url,
            headers=self._validators(group),
            callback=callback,
            errback=self.kind_failed,
            meta={**meta, "handle_httpstatus_list": _SOFT_STATUSES},
        )

    def kind_failed(self, failure: Failure) -> Iterator[SourceFetchItem]:
        """The source's own page could not be fetched at all."""
        request = failure.request  # type: ignore[attr-defined]
        ref: SourceRef = request.meta["source"]
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        hints = response_hints(response) if response is not None else PollHints()
        item = SourceFetchItem(
            ref.id, ref.name, ref.url, status, error=_describe(failure), hints=hints
        )
        yield from self._for_every_source(item, request.meta)

    def _not_modified(self, response: Response) -> Iterator[SourceFetchItem]:
        ref: SourceRef = response.meta["source"]
        item = SourceFetchItem(
            ref.id,
            ref.name,
            ref.url,
            304,
            etag=_header(response, "ETag") or ref.etag,
            last_modified=_header(response, "Last-Modified") or ref.last_modified,
            not_modified=True,
            hints=response_hints(response),
        )
        yield from self._for_every_source(item, response.meta)

    def _outcome(
        self,
        response: Response,
        *,
        entries: int,
        error: str | None = None,
        malformed: str | None = None,
        validators: bool = True,
        published: list[datetime] | None = None,
    ) -> Iterator[SourceFetchItem]:
        ref: SourceRef = response.meta["source"]
        item = SourceFetchItem(
            ref.id,
            ref.name,
            ref.url,
            response.status,
            error=error,
            etag=_header(response, "ETag") if validators else None,
            last_modified=_header(response, "Last-Modified") if validators else None,
            entries=entries,
            malformed=malformed,
            hints=response_hints(response),
            published=published or [],
        )
        yield from self._for_every_source(item, response.meta)

    # --- new links -----------------------------------------------------------

    def _unknown(self, urls: list[str]) -> set[str]:
        """Which of these addresses are not stored (nor deleted) yet."""
        keys = {url: url_key(canonicalize_url(url)) for url in urls}
        with self.database.sessions() as session:
            known = queries.known_story_keys(session=session, url_keys=list(keys.values()))
        return {url for url, key in keys.items() if key not in known}

    def _article_requests(self, items: list[StoryItem]) -> Iterator[scrapy.Request]:
        """Each new article page, once; at most WIREWATCH_MAX_NEW_LINKS per source page."""
        limit = self.settings.getint("WIREWATCH_MAX_NEW_LINKS", 50)
        unknown = self._unknown([item.url for item in items])
        fresh = [item for item in items if item.url in unknown]
        if len(fresh) > limit:
            self.crawler.stats.inc_value("wirewatch/links_over_limit", len(fresh) - limit)
        for item in fresh[:limit]:
            yield scrapy.Request(
                item.url,
                callback=self.parse_article,
                errback=self.linked_article_failed,
                meta={"item": item},
            )

    def linked_article_failed(self, failure: Failure) -> None:
        """A sitemap's or section's article page failed: not stored, tried again next crawl."""
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("wirewatch/article_fetch_failed")
        self.logger.warning(
            "article %s not fetched (%s); it is tried again next crawl",
            request.url,
            _describe(failure),
        )

    # --- sitemaps ------------------------------------------------------------

    def parse_sitemap_source(self, response: Response) -> Iterator[Any]:
        """The source's own URL: a sitemap, or a site whose sitemaps must be found."""
        if response.status == 304:
            yield from self._not_modified(response)
            return
        if response.status < 300 and looks_like_sitemap(response.body):
            yield from self._sitemap_document(response, depth=0)
            return
        # A homepage, robots.txt or a dead link: find the sitemaps as a crawler would.
        base = origin(response.url)
        yield scrapy.Request(
            base + "/robots.txt",
            callback=self.parse_sitemap_robots,
            errback=self.sitemap_robots_failed,
            dont_filter=True,
            meta={**_carry(response.meta), "handle_httpstatus_list": _SOFT_STATUSES},
        )

    def parse_sitemap_robots(self, response: Response) -> Iterator[Any]:
        found: list[str] = []
        if response.status < 300:
            found = sitemaps_in_robots(response.text, base_url=response.url)
        yield from self._try_candidates(response.meta, found + usual_locations(response.url))

    def sitemap_robots_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield from self._try_candidates(request.meta, usual_locations(request.url))

    def _try_candidates(self, meta: dict[str, Any], candidates: list[str]) -> Iterator[Any]:
        tried: list[str] = list(meta.get("tried", []))
        queue = [c for c in dict.fromkeys(candidates) if c not in tried]
        if not queue:
            ref: SourceRef = meta["source"]
            item = SourceFetchItem(
                ref.id,
                ref.name,
                ref.url,
                None,
                error=(
                    "no sitemap found: the URL is not one, robots.txt names none, and "
                    f"none of {', '.join(usual_locations(ref.url))} is one"
                ),
            )
            yield from self._for_every_source(item, meta)
            return
        url, rest = queue[0], queue[1:]
        yield scrapy.Request(
            url,
            callback=self.parse_sitemap_candidate,
            errback=self.sitemap_candidate_failed,
            dont_filter=True,
            meta={
                **_carry(meta),
                "tried": [*tried, url],
                "candidates": rest,
                "handle_httpstatus_list": _SOFT_STATUSES,
            },
        )

    def parse_sitemap_candidate(self, response: Response) -> Iterator[Any]:
        if response.status < 300 and looks_like_sitemap(response.body):
            self.logger.info(
                "sitemap of %s found at %s", response.meta["source"].name, response.url
            )
            yield from self._sitemap_document(response, depth=0, validators=False)
            return
        yield from self._try_candidates(response.meta, response.meta.get("candidates", []))

    def sitemap_candidate_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield from self._try_candidates(request.meta, request.meta.get("candidates", []))

    def _sitemap_document(
        self, response: Response, *, depth: int, validators: bool = True
    ) -> Iterator[Any]:
        ref: SourceRef = response.meta["source"]
        fetched_at = datetime.now(UTC)
        try:
            sitemap = parse_sitemap(response.body, base_url=response.url, fetched_at=fetched_at)
        except SitemapError as exc:
            if depth == 0:
                yield from self._outcome(response, entries=0, error=f"unreadable sitemap: {exc}")
            else:
                self.crawler.stats.inc_value("wirewatch/child_sitemap_failed")
                self.logger.warning("child sitemap %s unreadable: %s", response.url, exc)
            return
        window = timedelta(hours=self.settings.getfloat("WIREWATCH_SITEMAP_WINDOW_HOURS", 48.0))
        recent = sitemap.recent(now=fetched_at, window=window)
        if depth == 0:
            yield from self._outcome(
                response,
                entries=len(recent),
                validators=validators,
                published=[e.published for e in recent if e.published is not None],
            )
        if sitemap.is_index:
            if depth >= MAX_SITEMAP_DEPTH:
                self.logger.warning("sitemap index %s nested too deep; not followed", response.url)
                return
            for child in recent[:MAX_CHILD_SITEMAPS]:
                yield scrapy.Request(
                    child.loc,
                    callback=self.parse_child_sitemap,
                    errback=self.child_sitemap_failed,
                    meta={**_carry(response.meta), "sitemap_depth": depth + 1},
                )
            return
        items = [_sitemap_item(entry, ref, fetched_at) for entry in recent]
        yield from self._article_requests(items)

    def parse_child_sitemap(self, response: Response) -> Iterator[Any]:
        yield from self._sitemap_document(response, depth=int(response.meta["sitemap_depth"]))

    def child_sitemap_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("wirewatch/child_sitemap_failed")
        self.logger.warning("child sitemap %s failed: %s", request.url, _describe(failure))

    # --- section pages -------------------------------------------------------

    def parse_section(self, response: Response) -> Iterator[Any]:
        ref: SourceRef = response.meta["source"]
        if response.status == 304:
            yield from self._not_modified(response)
            return
        if response.status >= 300:
            yield from self._outcome(response, entries=0, error=f"HTTP {response.status}")
            return
        fetched_at = datetime.now(UTC)
        try:
            links = find_article_links(
                response.body, page_url=response.url, rules=ref.link_rules, fetched_at=fetched_at
            )
        except LinkRulesError as exc:
            yield from self._outcome(response, entries=0, error=str(exc))
            return
        problem = None
        if not links:
            problem = "no article links found on the section page" + (
                " by its link rules" if ref.link_rules else "; give it link rules"
            )
        yield from self._outcome(
            response,
            entries=len(links),
            malformed=problem,
            published=[link.published for link in links if link.published is not None],
        )
        items = [
            StoryItem(
                url=link.url,
                source_id=ref.id,
                source_name=ref.name,
                title=link.text,
                language=ref.language,
                published=link.published,
                fetched_at=fetched_at,
                extraction_method="section-link",
            )
            for link in links
        ]
        yield from self._article_requests(items)

    # --- search feeds --------------------------------------------------------

    def _search_start(self, ref: SourceRef, meta: dict[str, Any]) -> Iterator[Any]:
        with self.database.sessions() as session:
            topics = [
                (t.slug, t.query) for t in queries.list_topics(session=session, enabled_only=True)
            ]
        try:
            planned = search_requests(ref.url, topics)
        except SearchTemplateError as exc:
            item = SourceFetchItem(ref.id, ref.name, ref.url, None, error=str(exc))
            yield from self._for_every_source(item, meta)
            return
        if not planned:
            item = SourceFetchItem(
                ref.id,
                ref.name,
                ref.url,
                None,
                malformed="no enabled topic gives search words; nothing was searched",
            )
            yield from self._for_every_source(item, meta)
            return
        yield self._search_request({**meta, "planned": planned, "step": 0, "ok": 0, "errors": []})

    def _search_request(self, meta: dict[str, Any]) -> scrapy.Request:
        step: SearchRequest = meta["planned"][meta["step"]]
        return scrapy.Request(
            step.url,
            callback=self.parse_search,
            errback=self.search_failed,
            meta={**meta, "entries": meta.get("entries", 0)},
        )

    def parse_search(self, response: Response) -> Iterator[Any]:
        """One topic's search results: each item is an outlet's story, read from its page."""
        ref: SourceRef = response.meta["source"]
        fetched_at = datetime.now(UTC)
        feed = parse_feed(
            response.body,
            base_url=response.url,
            content_type=_header(response, "Content-Type"),
            fetched_at=fetched_at,
        )
        meta = dict(response.meta)
        step: SearchRequest = meta["planned"][meta["step"]]
        if not feed.entries and feed.malformed:
            meta["errors"] = [*meta["errors"], f"{step.topic}: unreadable feed: {feed.malformed}"]
        else:
            meta["ok"] += 1
            meta["entries"] += len(feed.entries)
        items = [
            StoryItem.from_entry(
                entry,
                source_id=ref.id,
                source_name=ref.name,
                language=feed.language or ref.language,
                fetched_at=fetched_at,
                full_text=entry.has_full_text,
                via_search=True,
            )
            for entry in feed.entries
        ]
        yield from self._article_requests(items)
        yield from self._search_next(meta, response)

    def search_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        meta = dict(request.meta)
        step: SearchRequest = meta["planned"][meta["step"]]
        meta["errors"] = [*meta["errors"], f"{step.topic}: {_describe(failure)}"]
        yield from self._search_next(meta, getattr(failure.value, "response", None))

    def _search_next(self, meta: dict[str, Any], response: Response | None) -> Iterator[Any]:
        """The next topic's search, or, after the last, the source's outcome."""
        if meta["step"] + 1 < len(meta["planned"]):
            yield self._search_request({**_carry(meta, search=True), "step": meta["step"] + 1})
            return
        ref: SourceRef = meta["source"]
        errors: list[str] = meta["errors"]
        failed_all = meta["ok"] == 0
        item = SourceFetchItem(
            ref.id,
            ref.name,
            ref.url,
            response.status if response is not None else None,
            error="; ".join(errors)[:2000] if failed_all else None,
            entries=meta["entries"],
            malformed=("; ".join(errors)[:2000] if errors and not failed_all else None),
            hints=response_hints(response) if response is not None else PollHints(),
        )
        yield from self._for_every_source(item, meta)


def _sitemap_item(entry: SitemapEntry, ref: SourceRef, fetched_at: datetime) -> StoryItem:
    return StoryItem(
        url=entry.loc,
        source_id=ref.id,
        source_name=ref.name,
        title=entry.title,
        language=entry.language or ref.language,
        published=entry.published,
        fetched_at=fetched_at,
        extraction_method="sitemap",
    )


def _carry(meta: dict[str, Any], *, search: bool = False) -> dict[str, Any]:
    """The request meta a follow-up request keeps (Scrapy's own keys stay behind)."""
    keys = ["source", "sharing", "tried", "candidates"]
    if search:
        keys += ["planned", "step", "ok", "errors", "entries"]
    return {k: meta[k] for k in keys if k in meta}


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _describe(failure: Failure) -> str:
    value = failure.value
    response = getattr(value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    name = type(value).__name__
    text = str(value).strip()
    return f"{name}: {text}" if text else name
