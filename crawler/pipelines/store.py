"""Store: items in small batches, one transaction per batch, retried when the
database is briefly away.

An item waits at most ``WIREWATCH_STORE_BATCH_SECONDS`` (or until
``WIREWATCH_STORE_BATCH_SIZE`` items wait) and is then stored with the others
in one transaction that also adds the batch's counts to the crawl run (one
UPDATE) and sets each source's last-new-story time once. Per story that used
to be a transaction and two updates of the same two hot rows.

An item counts as scraped only when its batch has committed: ``process_item``
returns once it is stored. A process killed mid-batch loses only what it had
not acknowledged, and that is fetched again next crawl, because a feed's
conditional-GET validators (ETag, Last-Modified) are written only when every
item the crawl had in flight is stored (the spider went idle or closed), and
never for a source one of whose stories could not be stored.

Entries the spider marks as already stored (the feed shows them unchanged) cost
one bulk touch per batch, not a story transaction each.

Counts go to the crawl run in the same transaction as the stories, so progress
shown to users is never ahead of (or behind) what is stored. A crawl worker
serves several runs at once: its items say which run they count toward
(``run_id``), and a batch adds to each of its runs. When a batch cannot be
stored, its items are tried again one transaction each, so a bad item costs
only itself; an item that cannot be stored even then (the database refuses it,
or storing it raised) is counted as failed on its run and dropped, and the run
ends failed: nothing is dropped with only a log line, and no item is left
waiting (a batch stored by the timer has nobody to raise to). An item an
earlier stage raised on never gets here; Scrapy's ``item_error`` tells, and it
is counted as failed on its run with the reason, and its feed's validators are
held back the same way, so the next crawl reads the entry again. Grouping a
story into an event runs in a savepoint: a fault there costs the story its
event, not its place in the archive.

A full disk is not a passing fault: the first "database or disk is full" stops
the crawl at once (close reason ``database_full``, which fails the run and makes
``scrapy crawl`` exit non-zero), with one clear error instead of retries; items
still in flight are dropped without touching the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from db import queries, sources, stories
from db.models import Story
from db.session import disk_full_error, is_disk_full, unit_of_work
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential
from twisted.internet import reactor
from twisted.internet.base import DelayedCall
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.database import CrawlDatabase
from crawler.events.followups import LOOKBACK
from crawler.events.index import EventIndex
from crawler.exitcodes import DATABASE_FULL
from crawler.items import SourceFetchItem, StoryItem
from crawler.outlets import file_under_outlet
from crawler.scheduling import PollScheduler
from crawler.storage import store_story

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20
DEFAULT_BATCH_SECONDS = 0.2


def _passing(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | DBAPIError) and not is_disk_full(exc)


_transient = retry(
    retry=retry_if_exception(_passing),
    stop=stop_after_attempt(4),
    wait=wait_exponential(multiplier=0.5, max=8),
    reraise=True,
)

Storable = StoryItem | SourceFetchItem


@dataclass
class _Waiting:
    item: Storable
    done: Deferred[Any]


@dataclass
class _Tally:
    """What one batch adds to its crawl runs and sources, written once per batch."""

    counts: dict[int, Counter[str]] = field(default_factory=dict)
    newest: dict[int, datetime] = field(default_factory=dict)
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def add(self, run_id: int | None, **counts: int) -> None:
        if run_id is not None:
            self.counts.setdefault(run_id, Counter()).update(counts)


def follow_lookback(settings: BaseSettings) -> timedelta:
    """How far back a story starting an event looks for the event it develops."""
    return timedelta(days=settings.getint("WIREWATCH_EVENTS_FOLLOW_LOOKBACK_DAYS", LOOKBACK.days))


class StorePipeline:
    def __init__(
        self,
        database: CrawlDatabase,
        crawler: Crawler,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
    ) -> None:
        self.factory = database.sessions
        self.crawler = crawler
        self.events = EventIndex(follow_lookback=follow_lookback(crawler.settings))
        self.polling = PollScheduler.of(crawler.settings)
        self.batch_size = max(1, batch_size)
        self.batch_seconds = max(0.0, batch_seconds)
        self.disk_full: str | None = None  # the error, once the database's disk is full
        self._closing: Deferred[None] | None = None
        self._waiting: list[_Waiting] = []
        self._timer: DelayedCall | None = None
        # Conditional-GET validators per source, written once the items are stored.
        self._validators: dict[int, tuple[str | None, str | None]] = {}
        self._unstored_sources: set[int] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(
            CrawlDatabase.of(crawler),
            crawler,
            batch_size=crawler.settings.getint("WIREWATCH_STORE_BATCH_SIZE", DEFAULT_BATCH_SIZE),
            batch_seconds=crawler.settings.getfloat(
                "WIREWATCH_STORE_BATCH_SECONDS", DEFAULT_BATCH_SECONDS
            ),
        )
        crawler.signals.connect(pipeline.settle_validators, signal=signals.spider_idle)
        crawler.signals.connect(pipeline.item_failed, signal=signals.item_error)
        return pipeline

    @property
    def run_id(self) -> int | None:
        spider = self.crawler.spider
        return getattr(spider, "run_id", None)

    def run_of(self, item: Storable) -> int | None:
        """The run an item counts toward: its own (a crawl worker's), else the spider's."""
        return item.run_id if item.run_id is not None else self.run_id

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Storable):
            return item
        done: Deferred[Any] = self.submit(item)
        return await maybe_deferred_to_future(done)

    def submit(self, item: Storable) -> Deferred[Any]:
        """Queue an item for the next batch; fires with it once stored (or fails with DropItem)."""
        done: Deferred[Any] = Deferred()
        if self.disk_full is not None:  # in flight when the crawl was stopped: said already
            self.crawler.stats.inc_value("wirewatch/store_skipped_disk_full")
            done.errback(DropItem(f"not stored, {self.disk_full}: {item.url}", "INFO"))
            return done
        self._waiting.append(_Waiting(item, done))
        if len(self._waiting) >= self.batch_size:
            self.flush()
        elif self._timer is None:
            self._timer = reactor.callLater(self.batch_seconds, self.flush)  # type: ignore[attr-defined,arg-type]
        return done

    def close_spider(self) -> None:
        self.settle_validators()

    def settle_validators(self) -> None:
        """Store what waits, then the validators of the feeds whose items are all stored.

        Runs when the spider is idle (nothing in flight) and when it closes.
        """
        self.flush()
        ready = {
            source_id: pair
            for source_id, pair in self._validators.items()
            if source_id not in self._unstored_sources
        }
        self._validators.clear()
        if not ready or self.disk_full is not None:
            return
        try:
            self._write_validators(ready)
        except (OperationalError, DBAPIError) as exc:
            # Nothing lost: those feeds are fetched in full next time.
            log.warning("conditional-GET state of %d feed(s) not recorded: %s", len(ready), exc)

    @_transient
    def _write_validators(self, ready: dict[int, tuple[str | None, str | None]]) -> None:
        with unit_of_work(self.factory) as session:
            for source_id, (etag, last_modified) in ready.items():
                sources.set_validators(
                    session=session, source_id=source_id, etag=etag, last_modified=last_modified
                )

    # -- batches -----------------------------------------------------------------------

    def flush(self) -> None:
        """Store every waiting item: one transaction, or one each when the batch fails."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        if self.disk_full is not None:
            self._drop_all(batch)
            return
        try:
            self._store_batch([w.item for w in batch])
        except (OperationalError, DBAPIError) as exc:
            if is_disk_full(exc):
                self._stop_for_full_disk(exc)
                self._drop_all(batch)
                return
            if len(batch) == 1:
                self._failed(batch[0], exc)
                return
            log.warning("a batch of %d could not be stored (%s); one at a time", len(batch), exc)
            self._store_one_by_one(batch)
            return
        except Exception as exc:  # noqa: BLE001 - not the database's fault: find the item
            if len(batch) == 1:
                self._failed(batch[0], exc)
                return
            self._store_one_by_one(batch)
            return
        for waiting in batch:
            self._stored(waiting)

    def _store_one_by_one(self, batch: list[_Waiting]) -> None:
        for index, waiting in enumerate(batch):
            try:
                self._store_batch([waiting.item])
            except (OperationalError, DBAPIError) as exc:
                if is_disk_full(exc):
                    self._stop_for_full_disk(exc)
                    self._drop_all(batch[index:])
                    return
                self._failed(waiting, exc)
            except Exception as exc:  # noqa: BLE001 - logged with its traceback by _failed
                self._failed(waiting, exc)
            else:
                self._stored(waiting)

    @_transient
    def _store_batch(self, items: list[Storable]) -> None:
        tally = _Tally()
        with unit_of_work(self.factory) as session:
            self._touch_known(session, items, tally)
            for item in items:
                if isinstance(item, SourceFetchItem):
                    self._record_fetch(session, item, tally)
                elif not item.already_stored:
                    self._store_story(session, item, tally)
            for source_id, when in tally.newest.items():
                sources.record_new_story(session=session, source_id=source_id, when=when)
            for run_id, counts in tally.counts.items():
                queries.add_crawl_counts(session=session, run_id=run_id, **counts)
            for run_id, error in tally.errors:
                queries.add_crawl_error(session=session, run_id=run_id, error=error)

    def _touch_known(self, session: Session, items: list[Storable], tally: _Tally) -> None:
        """Stories the feed shows unchanged: one UPDATE for the batch, nothing compared."""
        known = [i for i in items if isinstance(i, StoryItem) and i.already_stored]
        if not known:
            return
        when = max(i.fetched_at or datetime.now(UTC) for i in known)
        stories.touch_stories(session=session, url_keys={i.url_key for i in known}, when=when)
        for item in known:
            item.store_status = "duplicate"
            tally.add(self.run_of(item), fetched=1, duplicates=1)

    def _store_story(self, session: Session, item: StoryItem, tally: _Tally) -> None:
        if item.via_search:
            file_under_outlet(session, item)
        outcome = store_story(session, item, note_source=False)
        item.story_id = outcome.story_id
        item.store_status = outcome.status
        run_id = self.run_of(item)
        tally.add(run_id, fetched=1)
        if outcome.status == "new":
            tally.add(run_id, new=1)
            if item.source_id is not None:
                when = item.fetched_at or datetime.now(UTC)
                tally.newest[item.source_id] = max(when, tally.newest.get(item.source_id, when))
            if item.event_signature is not None:
                self._place_event(session, item)
        elif outcome.status == "updated":
            tally.add(run_id, updated=1)
        else:
            tally.add(run_id, duplicates=1)

    def _place_event(self, session: Session, item: StoryItem) -> None:
        """Group the story with other reports, in a savepoint: a fault of the grouping
        costs the story its event, not its place in the archive (the batch still commits).
        A database that is away or full is not such a fault: it fails the batch as usual."""
        story = session.get(Story, item.story_id)
        if story is None:
            return
        savepoint = session.begin_nested()
        try:
            placement = self.events.place(session, story, item.event_signature)
        except Exception as exc:
            if isinstance(exc, OperationalError) or is_disk_full(exc):
                # Not rolled back to the savepoint: SQLite ends the whole transaction
                # on a full disk, and the batch's own handling must see this error.
                raise
            savepoint.rollback()
            log.exception("%s: not placed in an event; stored on its own", item.url)
            self.crawler.stats.inc_value("wirewatch/event_placement_failed")
            return
        savepoint.commit()
        self.crawler.stats.inc_value(
            "wirewatch/events_joined" if placement.joined else "wirewatch/events_new"
        )

    def _record_fetch(self, session: Session, item: SourceFetchItem, tally: _Tally) -> None:
        """Health now; validators (ETag, Last-Modified) once the feed's items are stored."""
        now = datetime.now(UTC)
        queries.record_source_fetch(
            session=session,
            source_id=item.source_id,
            when=now,
            error=item.error,
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
        if item.error is None and (item.etag is not None or item.last_modified is not None):
            self._validators[item.source_id] = (item.etag, item.last_modified)
        if item.malformed and item.error is None:
            sources.note_malformed_feed(
                session=session, source_id=item.source_id, problem=item.malformed
            )
        self.polling.schedule(session, item, now)
        run_id = self.run_of(item)
        tally.add(run_id, sources_done=1)
        if item.error:
            tally.add(run_id, failed=1, sources_failed=1)
        if item.not_modified:
            tally.add(run_id, not_modified=1)
        problem = item.error or (f"malformed feed: {item.malformed}" if item.malformed else None)
        if problem and run_id is not None:
            tally.errors.append(
                (run_id, {"source": item.source_name, "url": item.url, "error": problem})
            )

    # -- outcomes ----------------------------------------------------------------------

    def item_failed(self, item: Any, response: Any, spider: Any, failure: Failure) -> None:
        """An earlier stage raised on an item, which so never reached this one.

        Scrapy logs the traceback; here the loss is made visible and undone next
        time: the source's validators are held back (its feed is read in full
        again), and the run records the failure, so it ends partial, not succeeded.
        A crawl worker's runs are counted by the worker spider; the error is noted here.
        """
        if not isinstance(item, Storable):
            return
        self.crawler.stats.inc_value("wirewatch/items_failed")
        if item.source_id is not None:
            self._unstored_sources.add(item.source_id)
        run_id = self.run_of(item)
        if run_id is None:
            return
        counted_elsewhere = getattr(spider, "serves_queued_runs", False)
        problem = {
            "source": item.source_name or "",
            "url": item.url,
            "error": f"not stored, it could not be processed: {failure.getErrorMessage()}",
        }
        try:
            with unit_of_work(self.factory) as session:
                queries.add_crawl_error(session=session, run_id=run_id, error=problem)
                if not counted_elsewhere:
                    queries.add_crawl_counts(session=session, run_id=run_id, failed=1)
        except (OperationalError, DBAPIError):
            log.error("could not record on crawl run %s that %s failed", run_id, item.url)

    def _stored(self, waiting: _Waiting) -> None:
        item = waiting.item
        if isinstance(item, StoryItem):
            self.crawler.stats.inc_value(f"wirewatch/stories_{item.store_status}")
        else:
            self.crawler.stats.inc_value(
                "wirewatch/sources_failed" if item.error else "wirewatch/sources_ok"
            )
        waiting.done.callback(item)

    def _failed(self, waiting: _Waiting, exc: Exception) -> None:
        item = waiting.item
        self.crawler.stats.inc_value("wirewatch/store_failed")
        if item.source_id is not None:
            self._unstored_sources.add(item.source_id)
        self._count_failure_best_effort(item, exc)
        waiting.done.errback(DropItem(f"could not store {item.url}: {exc}"))

    def _drop_all(self, batch: list[_Waiting]) -> None:
        for waiting in batch:
            self.crawler.stats.inc_value("wirewatch/store_skipped_disk_full")
            waiting.done.errback(
                DropItem(f"not stored, {self.disk_full}: {waiting.item.url}", "INFO")
            )

    def _stop_for_full_disk(self, exc: BaseException) -> None:
        """Say it once and stop the crawl: every later write would fail the same way."""
        self.crawler.stats.inc_value("wirewatch/store_failed")
        full = disk_full_error(exc) or exc
        reason = getattr(full, "orig", None) or full
        self.disk_full = f"the database disk is full: {reason}"
        self.crawler.stats.set_value("wirewatch/fatal_error", self.disk_full)
        log.error("%s; stopping the crawl (free space, then crawl again)", self.disk_full)
        engine = self.crawler.engine
        if engine is not None and self._closing is None:
            self._closing = deferred_from_coro(engine.close_spider_async(reason=DATABASE_FULL))

    def _count_failure_best_effort(self, item: Storable, exc: Exception) -> None:
        database_error = isinstance(exc, OperationalError | DBAPIError)
        log.error(
            "storage failed for %s: %s", item.url, exc, exc_info=None if database_error else exc
        )
        run_id = self.run_of(item)
        if run_id is None:
            return
        try:
            with unit_of_work(self.factory) as session:
                queries.add_crawl_counts(session=session, run_id=run_id, failed=1)
        except (OperationalError, DBAPIError):
            log.error("could not record the failure on crawl run %s either", run_id)
