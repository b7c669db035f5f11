"""Every crawl leaves a crawl-run record: when, what was counted, what went wrong.

A run started by the CLI, web or scheduler already has a row (its id comes in
as the spider's ``run_id``) and is settled by the runner once every worker
process has exited; a bare ``scrapy crawl feeds`` gets a row here and is
settled here. A crawl stopped by a fatal error (stat ``wirewatch/fatal_error``,
such as a full database disk) records that error and fails; when the database
cannot take even that, it is logged, and the process's exit code tells the
runner (``crawler.exitcodes``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Self

from db import queries
from db.session import unit_of_work
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from sqlalchemy.exc import DBAPIError, OperationalError
from twisted.internet import task

from crawler.database import CrawlDatabase

log = logging.getLogger(__name__)


class CrawlRunRecorder:
    def __init__(self, crawler: Crawler, database: CrawlDatabase) -> None:
        self.crawler = crawler
        self.database = database
        self.owns_run = False
        self._beat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler, CrawlDatabase.of(crawler))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if getattr(spider, "serves_queued_runs", False):
            return  # a crawler worker: runs are recorded and settled by whoever queued them
        with unit_of_work(self.database.sessions) as session:
            run_id = getattr(spider, "run_id", None)
            self.owns_run = run_id is None
            if run_id is None:
                # A bare `scrapy crawl feeds`: this process owns (and settles) the run.
                run = queries.create_crawl_run(session=session, source_id=None, trigger="scrapy")
                spider.run_id = run.id  # type: ignore[attr-defined]
        if self.owns_run:
            self._beat = task.LoopingCall(self._heartbeat, spider.run_id)  # type: ignore[attr-defined]
            self._beat.start(queries.CRAWL_HEARTBEAT_SECONDS, now=False)

    def _heartbeat(self, run_id: int) -> None:
        try:
            with unit_of_work(self.database.sessions) as session:
                queries.beat_crawl_run(session=session, run_id=run_id, when=datetime.now(UTC))
        except Exception:  # a database hiccup: beat again next time
            log.warning("crawl #%s: heartbeat not recorded", run_id, exc_info=True)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if getattr(spider, "serves_queued_runs", False):
            return
        run_id = spider.run_id  # type: ignore[attr-defined]
        try:
            self._record_end(run_id, reason)
        except (OperationalError, DBAPIError) as exc:
            log.error("could not record the end of crawl run %s (%s): %s", run_id, reason, exc)

    def _record_end(self, run_id: int, reason: str) -> None:
        stats = self.crawler.stats
        fatal = stats.get_value("wirewatch/fatal_error")
        with unit_of_work(self.database.sessions) as session:
            run = queries.get_crawl_run(session=session, run_id=run_id)
            total = int(stats.get_value("wirewatch/sources_total", 0) or 0)
            run.sources_total = max(run.sources_total, total)
            if reason != "finished":
                queries.add_crawl_error(
                    session=session,
                    run_id=run.id,
                    error={"source": "", "url": "", "error": fatal or f"crawl ended: {reason}"},
                )
            for error in stats.get_value("wirewatch/extraction_over_limit") or []:
                queries.add_crawl_error(session=session, run_id=run.id, error=error)
            if stats.get_value("wirewatch/store_failed") and not fatal:
                queries.add_crawl_error(
                    session=session,
                    run_id=run.id,
                    error={"source": "", "url": "", "error": "stories could not be stored"},
                )
            if self.owns_run:
                failed = reason != "finished" or bool(stats.get_value("wirewatch/store_failed"))
                queries.finish_crawl_run(
                    session=session,
                    run_id=run.id,
                    status=queries.crawl_outcome(run, crashed=failed),
                    when=datetime.now(UTC),
                )
