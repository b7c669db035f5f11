"""Store: one short transaction per item, retried when the database is briefly away.

Counts go to the crawl run in the same transaction as the story, so progress
shown to users is never ahead of (or behind) what is stored. When the database
stays unreachable the item is counted as failed and the run ends failed:
nothing is dropped with only a log line.

A full disk is not a passing fault: the first "database or disk is full" stops
the crawl at once (close reason ``database_full``, which fails the run and makes
``scrapy crawl`` exit non-zero), with one clear error instead of retries; items
still in flight are dropped without touching the database.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from db import queries, sources
from db.models import Story
from db.session import is_disk_full, unit_of_work
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential
from twisted.internet.defer import Deferred

from crawler.database import CrawlDatabase
from crawler.events.index import EventIndex
from crawler.exitcodes import DATABASE_FULL
from crawler.items import SourceFetchItem, StoryItem
from crawler.outlets import file_under_outlet
from crawler.scheduling import PollScheduler
from crawler.storage import store_story

log = logging.getLogger(__name__)


def _passing(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | DBAPIError) and not is_disk_full(exc)


_transient = retry(
    retry=retry_if_exception(_passing),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=8),
    reraise=True,
)


class StorePipeline:
    def __init__(self, database: CrawlDatabase, crawler: Crawler) -> None:
        self.factory = database.sessions
        self.crawler = crawler
        self.events = EventIndex()
        self.polling = PollScheduler.of(crawler.settings)
        self.disk_full: str | None = None  # the error, once the database's disk is full
        self._closing: Deferred[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(CrawlDatabase.of(crawler), crawler)

    @property
    def run_id(self) -> int | None:
        spider = self.crawler.spider
        return getattr(spider, "run_id", None)

    def process_item(self, item: Any) -> Any:
        if self.disk_full is not None:  # in flight when the crawl was stopped: said already
            self.crawler.stats.inc_value("wirewatch/store_skipped_disk_full")
            raise DropItem(f"not stored, {self.disk_full}: {getattr(item, 'url', item)}", "INFO")
        try:
            if isinstance(item, SourceFetchItem):
                self._store_fetch(item)
            elif isinstance(item, StoryItem):
                self._store_story(item)
        except (OperationalError, DBAPIError) as exc:
            self.crawler.stats.inc_value("wirewatch/store_failed")
            if is_disk_full(exc):
                self._stop_for_full_disk(exc)
                raise DropItem(
                    f"not stored, {self.disk_full}: {getattr(item, 'url', item)}"
                ) from exc
            self._count_failure_best_effort(item, exc)
            raise DropItem(f"could not store {getattr(item, 'url', item)}: {exc}") from exc
        return item

    def _stop_for_full_disk(self, exc: BaseException) -> None:
        """Say it once and stop the crawl: every later write would fail the same way."""
        reason = getattr(exc, "orig", None) or exc
        self.disk_full = f"the database disk is full: {reason}"
        self.crawler.stats.set_value("wirewatch/fatal_error", self.disk_full)
        log.error("%s; stopping the crawl (free space, then crawl again)", self.disk_full)
        engine = self.crawler.engine
        if engine is not None and self._closing is None:
            self._closing = deferred_from_coro(engine.close_spider_async(reason=DATABASE_FULL))

    @_transient
    def _store_story(self, item: StoryItem) -> None:
        with unit_of_work(self.factory) as session:
            if item.via_search:
                file_under_outlet(session, item)
            outcome = store_story(session, item)
            item.story_id = outcome.story_id
            item.store_status = outcome.status
            if outcome.status == "new" and item.event_signature is not None:
                self._place_event(session, item)
            if self.run_id is not None:
                counts = {"fetched": 1}
                if outcome.status == "new":
                    counts["new"] = 1
                elif outcome.status == "updated":
                    counts["updated"] = 1
                else:
                    counts["duplicates"] = 1
                queries.add_crawl_counts(session=session, run_id=self.run_id, **counts)
        self.crawler.stats.inc_value(f"wirewatch/stories_{item.store_status}")

    def _place_event(self, session: Session, item: StoryItem) -> None:
        story = session.get(Story, item.story_id)
        if story is not None:
            placement = self.events.place(session, story, item.event_signature)
            self.crawler.stats.inc_value(
                "wirewatch/events_joined" if placement.joined else "wirewatch/events_new"
            )

    @_transient
    def _store_fetch(self, item: SourceFetchItem) -> None:
        now = datetime.now(UTC)
        with unit_of_work(self.factory) as session:
            queries.record_source_fetch(
                session=session,
                source_id=item.source_id,
                when=now,
                error=item.error,
                etag=item.etag,
                last_modified=item.last_modified,
            )
            sources.record_fetch_health(
                session=session,
                source_id=item.source_id,
                when=now,
                error=item.error,
                not_modified=item.not_modified,
                pause_after=timedelta(
                    hours=self.crawler.settings.getfloat("WIREWATCH_SOURCE_PAUSE_AFTER_HOURS", 48.0)
                ),
            )
            if item.malformed and item.error is None:
                sources.note_malformed_feed(
                    session=session, source_id=item.source_id, problem=item.malformed
                )
            self.polling.schedule(session, item, now)
            if self.run_id is None:
                return
            counts = {"sources_done": 1}
            if item.error:
                counts["failed"] = 1
                counts["sources_failed"] = 1
            if item.not_modified:
                counts["not_modified"] = 1
            queries.add_crawl_counts(session=session, run_id=self.run_id, **counts)
            problem = item.error or (
                f"malformed feed: {item.malformed}" if item.malformed else None
            )
            if problem:
                queries.add_crawl_error(
                    session=session,
                    run_id=self.run_id,
                    error={"source": item.source_name, "url": item.url, "error": problem},
                )
        self.crawler.stats.inc_value(
            "wirewatch/sources_failed" if item.error else "wirewatch/sources_ok"
        )

    def _count_failure_best_effort(self, item: Any, exc: Exception) -> None:
        log.error("storage failed for %s: %s", getattr(item, "url", item), exc)
        if self.run_id is None:
            return
        try:
            with unit_of_work(self.factory) as session:
                queries.add_crawl_counts(session=session, run_id=self.run_id, failed=1)
        except (OperationalError, DBAPIError):
            log.error("could not record the failure on crawl run %s either", self.run_id)
