"""The crawler worker's spider: the feed spider fed from Redis (see ``crawler.worker``)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

import redis
import scrapy
from db import queries, sources
from db.session import unit_of_work
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.http import Response
from scrapy_redis.spiders import RedisMixin
from twisted.python.failure import Failure

from crawler.items import SourceFetchItem, StoryItem
from crawler.source_kinds import OTHER_KINDS
from crawler.spiders.feeds import FeedSpider, SourceRef
from crawler.worker import CARRIED, JOBS_KEY, REPLACEMENT_KEYS, RUN_META, run_key

log = logging.getLogger(__name__)


class NoDupeFilter(BaseDupeFilter):
    """Lets every request through (see ``worker_settings``)."""

    @classmethod
    def from_spider(cls, spider: scrapy.Spider) -> Self:
        return cls()

    def clear(self) -> None:
        """Nothing is kept."""


def _run_of(request_or_response: Any) -> int | None:
    meta = getattr(request_or_response, "meta", None) or {}
    value = meta.get(RUN_META)
    return int(value) if value is not None else None


def _item_run(item: Any, response: Response | Failure | None) -> int | None:
    """The run an item counts toward: tagged by ``_tracked``, else its response's.

    Items an errback yields come with the Failure in place of a response (Scrapy
    sets the request on it), which has no ``meta`` of its own.
    """
    run_id = getattr(item, "run_id", None)
    if run_id is not None:
        return int(run_id)
    if isinstance(response, Failure):
        return _run_of(getattr(response, "request", None))
    return _run_of(response)


class WorkerSpider(RedisMixin, FeedSpider):  # type: ignore[misc]
    """The feed spider, fed from Redis: idles until the scheduler or the CLI queue jobs."""

    name = "feeds-worker"
    redis_key = JOBS_KEY
    serves_queued_runs = True

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> WorkerSpider:
        spider: WorkerSpider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[assignment]
        spider.setup_redis(crawler)
        spider.counts = redis.Redis.from_url(crawler.settings.get("REDIS_URL"))
        crawler.signals.connect(spider._scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider._dropped_request, signal=signals.request_dropped)
        crawler.signals.connect(spider._item_passed, signal=signals.item_scraped)
        crawler.signals.connect(spider._item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider._item_failed, signal=signals.item_error)
        return spider

    counts: redis.Redis

    async def start(self) -> AsyncIterator[Any]:
        for request in self.next_requests():
            yield request

    def make_request_from_data(self, data: bytes) -> list[scrapy.Request]:
        try:
            job = json.loads(data)
            run_id, source_id = int(job["run_id"]), int(job["source_id"])
        except (ValueError, KeyError, TypeError):
            log.error("ignoring a malformed crawl job: %r", data[:200])
            return []
        with self.database.sessions() as session:
            rows = sources.sources_by_id(session=session, ids=[source_id])
        if not rows:
            log.warning("crawl #%s: source %s no longer exists", run_id, source_id)
            self._add(run_id, -1)
            return []
        ref = SourceRef.of(rows[0])
        if ref.kind in OTHER_KINDS:
            found = [o for o in self.kind_start([ref]) if isinstance(o, scrapy.Request)]
            if not found:
                log.warning("crawl #%s: source %s has nothing to fetch", run_id, ref.name)
                self._add(run_id, -1)
                return []
            request = found[0]
        else:
            request = self._feed_request([ref])
        request.meta[RUN_META] = run_id
        request.meta[CARRIED] = True
        request.dont_filter = True
        return [request]

    # The callbacks: the run follows every request they make; each ends a unit of work.

    def parse_feed(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_feed(response))

    async def parse_article(self, response: Response) -> Iterator[StoryItem]:  # type: ignore[override]
        return self._tracked(_run_of(response), await super().parse_article(response))

    def article_failed(self, failure: Failure) -> Iterator[StoryItem]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().article_failed(failure))

    def feed_failed(self, failure: Failure) -> Iterator[SourceFetchItem]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().feed_failed(failure))

    def older_page_failed(self, failure: Failure) -> None:
        super().older_page_failed(failure)
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        if run is not None:
            self._add(run, -1)

    # The callbacks of sitemap, section and search sources (crawler.source_kinds).

    def parse_sitemap_source(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_sitemap_source(response))

    def parse_sitemap_robots(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_sitemap_robots(response))

    def parse_sitemap_candidate(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_sitemap_candidate(response))

    def parse_child_sitemap(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_child_sitemap(response))

    def parse_section(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_section(response))

    def parse_search(self, response: Response) -> Iterator[Any]:
        return self._tracked(_run_of(response), super().parse_search(response))

    def kind_failed(self, failure: Failure) -> Iterator[SourceFetchItem]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().kind_failed(failure))

    def sitemap_robots_failed(self, failure: Failure) -> Iterator[Any]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().sitemap_robots_failed(failure))

    def sitemap_candidate_failed(self, failure: Failure) -> Iterator[Any]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().sitemap_candidate_failed(failure))

    def search_failed(self, failure: Failure) -> Iterator[Any]:
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        return self._tracked(run, super().search_failed(failure))

    def child_sitemap_failed(self, failure: Failure) -> None:
        super().child_sitemap_failed(failure)
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        if run is not None:
            self._add(run, -1)

    def linked_article_failed(self, failure: Failure) -> None:
        super().linked_article_failed(failure)
        run = _run_of(failure.request)  # type: ignore[attr-defined]
        if run is not None:
            self._add(run, -1)

    def _tracked(self, run_id: int | None, output: Iterable[Any] | None) -> Iterator[Any]:
        try:
            for thing in output or ():
                if run_id is not None:
                    if isinstance(thing, scrapy.Request):
                        thing.meta[RUN_META] = run_id
                    else:
                        if isinstance(thing, StoryItem | SourceFetchItem):
                            thing.run_id = run_id  # the store pipeline counts it there
                        self._add(run_id, 1, done=0)
                yield thing
        finally:
            if run_id is not None:
                self._add(run_id, -1)

    def _add(self, run_id: int, delta: int, *, done: int | None = None) -> None:
        with self.counts.pipeline() as pipe:
            pipe.incrby(run_key(run_id, "pending"), delta)
            pipe.incrby(run_key(run_id, "done"), 1 if done is None else done)
            pipe.execute()

    # Signals.

    def _scheduled(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        run_id = _run_of(request)
        if run_id is None or request.meta.pop(CARRIED, False):
            return
        if any(request.meta.get(key) for key in REPLACEMENT_KEYS):
            return
        self._add(run_id, 1, done=0)

    def _dropped_request(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        run_id = _run_of(request)
        if run_id is not None and not any(request.meta.get(k) for k in REPLACEMENT_KEYS):
            self._add(run_id, -1)

    # An item's outcome reaches these once its store batch has committed (or has
    # been given up): the store pipeline returns an item only then, and it has
    # added the item's counts to the item's run in that batch's transaction.

    def _item_passed(
        self, item: Any, response: Response | Failure | None, spider: scrapy.Spider
    ) -> None:
        self._item_done(item, response)

    def _item_dropped(
        self,
        item: Any,
        response: Response | Failure | None,
        exception: Exception,
        spider: scrapy.Spider,
    ) -> None:
        self._item_done(item, response)  # a failure to store is counted by the store

    def _item_failed(
        self,
        item: Any,
        response: Response | Failure | None,
        spider: scrapy.Spider,
        failure: Failure,
    ) -> None:
        """An earlier pipeline raised: the item never reached the store, count it here."""
        run_id = _item_run(item, response)
        if run_id is None:
            return
        try:
            with unit_of_work(self.database.sessions) as session:
                queries.add_crawl_counts(session=session, run_id=run_id, failed=1)
        except Exception:  # only the run's counters lag
            log.warning("crawl #%s: a failed item not counted", run_id, exc_info=True)
        finally:
            self._add(run_id, -1)

    def _item_done(self, item: Any, response: Response | Failure | None) -> None:
        run_id = _item_run(item, response)
        if run_id is not None:
            self._add(run_id, -1)
