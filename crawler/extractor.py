"""The crawl's article extraction, awaited by spider callbacks, never run on the reactor.

``ArticleExtractor.extract`` hands the page to an ``ExtractionPool`` (worker
processes with per-page time and size limits) and resumes the callback when the
result arrives, through a Twisted Deferred fired on the reactor thread. While
it waits, the reactor keeps downloading and the other cores parse.

At most ``QUEUE_PER_WORKER`` pages per worker are handed over at once; callbacks
beyond that wait on a semaphore, and since each holds its response, Scrapy's
scraper-slot limit (``SCRAPER_SLOT_MAX_ACTIVE_SIZE``) then slows new
downloads: pending pages stay bounded in count and in bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred, DeferredSemaphore

from crawler.extraction.model import ExtractionResult
from crawler.extraction.pool import ExtractionPool, PoolLimits

log = logging.getLogger(__name__)

QUEUE_PER_WORKER = 4


def limits_from(settings: BaseSettings) -> PoolLimits:
    """The pool's size and limits from the crawl's Scrapy settings (core settings copied)."""
    workers = settings.getint("WIREWATCH_EXTRACTION_WORKERS", 0)
    return PoolLimits(
        workers=workers or PoolLimits.default_workers(),
        time_limit=settings.getfloat("WIREWATCH_EXTRACTION_TIME_LIMIT", 20.0),
        max_bytes=settings.getint("WIREWATCH_EXTRACTION_MAX_BYTES", 5 * 1024 * 1024),
    )


def _deferred(future: Future[ExtractionResult], url: str | None) -> Deferred[ExtractionResult]:
    """A Deferred fired on the reactor thread when the pool's future completes."""
    from twisted.internet import reactor

    deferred: Deferred[ExtractionResult] = Deferred()

    def fire(done: Future[ExtractionResult]) -> None:
        if done.cancelled():
            result = ExtractionResult.failure("extraction cancelled: the crawl is stopping")
        elif (error := done.exception()) is not None:
            # A fault of the pool itself, not of the page: the story still keeps its feed text.
            log.error("extraction pool failed on %s", url, exc_info=error)
            result = ExtractionResult.failure(f"extraction failed: {error!r}", over_limit=True)
        else:
            result = done.result()
        reactor.callFromThread(deferred.callback, result)  # type: ignore[attr-defined]

    future.add_done_callback(fire)
    return deferred


class ArticleExtractor:
    """One per crawl process: starts its workers on the first page, stops them at the end."""

    def __init__(self, limits: PoolLimits) -> None:
        self.limits = limits
        self._pool: ExtractionPool | None = None
        self._pending = DeferredSemaphore(limits.workers * QUEUE_PER_WORKER)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        extractor = cls(limits_from(crawler.settings))
        crawler.signals.connect(extractor.close, signal=signals.engine_stopped)
        return extractor

    async def extract(
        self, html: bytes, url: str | None, headers: Mapping[str, str] | None = None
    ) -> ExtractionResult:
        """The page's article, or a failure naming why (including a limit it exceeded)."""
        await maybe_deferred_to_future(self._pending.acquire())
        try:
            if self._pool is None:
                self._pool = ExtractionPool(self.limits)
            future = self._pool.submit(html, url, headers)
            return await maybe_deferred_to_future(_deferred(future, url))
        finally:
            self._pending.release()

    @property
    def replaced(self) -> int:
        return self._pool.replaced if self._pool is not None else 0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
