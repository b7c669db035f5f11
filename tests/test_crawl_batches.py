"""The store stage writes in batches, on SQLite and PostgreSQL.

A batch of stories is one transaction and one update of the crawl run's
counters; a feed's conditional-GET validators are written only once its items
are stored; entries the feed shows unchanged are touched in one UPDATE without
being analysed; one bad item costs only itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure

import crawler.pipelines.dedupe as dedupe_stage
from crawler.items import SourceFetchItem, StoryItem
from crawler.pipelines.dedupe import DedupePipeline
from crawler.pipelines.normalize import NormalizePipeline
from crawler.pipelines.store import StorePipeline
from crawler.spiders.feeds import FeedSpider
from db import queries
from db.models import CrawlRun, Source, Story
from db.session import unit_of_work

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Writes:
    """Commits and crawl-run updates seen on the pipeline's engine."""

    commits: int = 0
    run_updates: int = 0
    story_updates: list[str] = field(default_factory=list)


@dataclass
class Crawl:
    pipeline: StorePipeline
    run_id: int
    source_id: int
    writes: Writes
    outcomes: list[Any] = field(default_factory=list)

    def submit(self, item: StoryItem | SourceFetchItem) -> None:
        if isinstance(item, StoryItem):
            NormalizePipeline().process_item(item)
            DedupePipeline().process_item(item)
        done = self.pipeline.submit(item)
        done.addCallbacks(self.outcomes.append, lambda f: self.outcomes.append(f.value))


@pytest.fixture
def crawl(database_url: str, session_factory: sessionmaker[Session]) -> Iterator[Crawl]:
    with unit_of_work(session_factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="wire", url="https://wire.example/rss"
        )
        run = queries.create_crawl_run(session=session, source_id=None, trigger="test")
        source_id, run_id = source.id, run.id
    scrapy_crawler = get_crawler(
        FeedSpider, {"WIREWATCH_DATABASE_URL": database_url, "WIREWATCH_STORE_BATCH_SIZE": 20}
    )
    spider = FeedSpider.from_crawler(scrapy_crawler, source_ids=str(source_id), run_id=run_id)
    scrapy_crawler.spider = spider
    pipeline = StorePipeline.from_crawler(scrapy_crawler)
    writes = Writes()
    engine = pipeline.factory.kw["bind"]

    def committed(connection: Connection) -> None:
        writes.commits += 1

    def executed(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("update crawl_runs"):
            writes.run_updates += 1
        if text.startswith("update stories"):
            writes.story_updates.append(text)

    event.listen(engine, "commit", committed)
    event.listen(engine, "before_cursor_execute", executed)
    yield Crawl(pipeline, run_id, source_id, writes)
    engine.dispose()


def _story(n: int, source_id: int) -> StoryItem:
    return StoryItem(
        url=f"https://wire.example/story/{n}",
        source_id=source_id,
        source_name="wire",
        title=f"Harbour authority report number {n} on ferry routes",
        body=f"Story {n}: " + " ".join(f"word{n}x{i}" for i in range(60)),
        language="en",
        published=WHEN,
        fetched_at=WHEN + timedelta(minutes=n),
    )


def _run(factory: sessionmaker[Session], run_id: int) -> CrawlRun:
    with factory() as session:
        run = queries.get_crawl_run(session=session, run_id=run_id)
        session.expunge(run)
        return run


def test_a_batch_is_one_transaction_and_one_run_update(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    for n in range(45):
        crawl.submit(_story(n, crawl.source_id))
    # Two full batches are stored; five stories wait for the window (not acknowledged yet).
    assert len(crawl.outcomes) == 40
    assert crawl.writes.commits == 2
    assert _run(session_factory, crawl.run_id).new == 40
    crawl.pipeline.close_spider()
    assert len(crawl.outcomes) == 45
    assert all(isinstance(o, StoryItem) and o.store_status == "new" for o in crawl.outcomes)
    assert crawl.writes.commits == 3
    assert crawl.writes.run_updates == 3
    run = _run(session_factory, crawl.run_id)
    assert (run.fetched, run.new, run.duplicates) == (45, 45, 0)
    with session_factory() as session:
        source = session.get(Source, crawl.source_id)
        assert source is not None and source.last_new_story_at is not None
        # The batch's latest sighting, written once per batch.
        assert source.last_new_story_at == WHEN + timedelta(minutes=44)


def test_validators_are_written_only_after_the_feeds_items(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    fetch = SourceFetchItem(
        crawl.source_id, "wire", "https://wire.example/rss", 200, etag='"v2"', entries=3
    )
    crawl.submit(fetch)
    for n in range(3):
        crawl.submit(_story(n, crawl.source_id))
    crawl.pipeline.flush()  # the window closed: stored and acknowledged, the feed not done
    assert len(crawl.outcomes) == 4
    with session_factory() as session:
        source = session.get(Source, crawl.source_id)
        assert source is not None
        assert source.last_success_at is not None  # health is recorded with the batch
        assert source.etag is None  # a process killed now fetches the whole feed again
    crawl.pipeline.settle_validators()  # the spider went idle: every item is stored
    with session_factory() as session:
        source = session.get(Source, crawl.source_id)
        assert source is not None and source.etag == '"v2"'
    run = _run(session_factory, crawl.run_id)
    assert (run.sources_done, run.new) == (1, 3)


def test_unacknowledged_items_leave_no_trace(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    crawl.submit(
        SourceFetchItem(crawl.source_id, "wire", "https://wire.example/rss", 200, etag="e")
    )
    crawl.submit(_story(1, crawl.source_id))
    assert crawl.outcomes == []  # still in the window: a killed process lost nothing it said
    with session_factory() as session:
        assert session.scalars(select(Story)).all() == []
        source = session.get(Source, crawl.source_id)
        assert source is not None and source.etag is None and source.last_crawled_at is None


def test_known_entries_are_touched_in_one_update_without_analysis(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    for n in range(5):
        crawl.submit(_story(n, crawl.source_id))
    crawl.pipeline.flush()
    crawl.writes.story_updates.clear()
    later = WHEN + timedelta(days=1)
    known = []
    for n in range(5):
        item = _story(n, crawl.source_id)
        item.already_stored = True
        item.fetched_at = later
        item.body = "  text  the store stage must not look at  "
        known.append(item)
        crawl.submit(item)
    crawl.pipeline.flush()
    assert all(item.signature is None and item.fingerprint == "" for item in known)
    assert all(item.store_status == "duplicate" for item in known)
    assert len(crawl.writes.story_updates) == 1
    with session_factory() as session:
        rows = session.scalars(select(Story).order_by(Story.id)).all()
        assert len(rows) == 5
        assert {row.fetched_at for row in rows} == {later}
        assert all(row.body.startswith("Story ") for row in rows)
    run = _run(session_factory, crawl.run_id)
    assert (run.fetched, run.new, run.duplicates) == (10, 5, 5)


def test_a_bad_item_costs_only_itself_and_holds_its_feeds_validators(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    crawl.pipeline.batch_size = 4
    crawl.submit(
        SourceFetchItem(crawl.source_id, "wire", "https://wire.example/rss", 200, etag="e")
    )
    good = [_story(n, crawl.source_id) for n in range(2)]
    bad = _story(99, crawl.source_id)
    NormalizePipeline().process_item(bad)
    DedupePipeline().process_item(bad)
    bad.title = None  # type: ignore[assignment]  # the database refuses a story without a title
    crawl.submit(good[0])
    crawl.pipeline.submit(bad).addErrback(lambda f: crawl.outcomes.append(f.value))
    crawl.submit(good[1])  # the fourth item: the batch is stored, fails, and is split
    crawl.pipeline.settle_validators()
    dropped = [o for o in crawl.outcomes if isinstance(o, DropItem)]
    assert len(dropped) == 1 and "could not store" in str(dropped[0])
    assert sum(isinstance(o, StoryItem) for o in crawl.outcomes) == 2
    with session_factory() as session:
        assert len(session.scalars(select(Story)).all()) == 2
        source = session.get(Source, crawl.source_id)
        assert source is not None and source.etag is None  # fetched in full next time
    run = _run(session_factory, crawl.run_id)
    assert (run.new, run.failed, run.sources_done) == (2, 1, 1)


def test_a_lone_item_that_cannot_be_stored_is_answered_not_left_waiting(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    """A batch of one flushed by the window's timer has nobody to raise to: its item is
    dropped and counted as failed, so whoever waits for it (a crawl worker's run) moves on."""
    bad = _story(1, crawl.source_id)
    crawl.submit(bad)
    bad.title = None  # type: ignore[assignment]  # the database refuses a story without a title
    crawl.pipeline.flush()  # what the timer does when the window ends
    assert len(crawl.outcomes) == 1 and isinstance(crawl.outcomes[0], DropItem)
    assert "could not store" in str(crawl.outcomes[0])
    with session_factory() as session:
        assert session.scalars(select(Story)).all() == []
    run = _run(session_factory, crawl.run_id)
    assert (run.new, run.failed) == (0, 1)


def test_items_of_other_runs_count_toward_their_own_run_in_the_same_batch(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    """A crawl worker serves several runs: an item tagged with its run is counted there."""
    with unit_of_work(session_factory) as session:
        other = queries.create_crawl_run(session=session, source_id=None, trigger="test").id
    fetch = SourceFetchItem(
        crawl.source_id, "wire", "https://wire.example/rss", 404, error="HTTP 404", run_id=other
    )
    crawl.submit(fetch)
    for n in range(3):
        crawl.submit(_story(n, crawl.source_id))
    for n in range(3, 5):
        item = _story(n, crawl.source_id)
        item.run_id = other
        crawl.submit(item)
    crawl.pipeline.flush()
    assert crawl.writes.commits == 1
    mine, theirs = _run(session_factory, crawl.run_id), _run(session_factory, other)
    assert (mine.new, mine.sources_done, mine.errors) == (3, 0, [])
    assert (theirs.new, theirs.sources_done, theirs.sources_failed) == (2, 1, 1)
    assert [e["error"] for e in theirs.errors] == ["HTTP 404"]


def test_a_fault_in_event_placement_costs_the_story_its_event_not_its_place(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    """Grouping runs in a savepoint: the story and the rest of its batch are stored."""
    stories = [_story(n, crawl.source_id) for n in range(3)]
    for item in stories:
        crawl.submit(item)
    stories[1].event_signature = "not a signature"  # placing this story raises
    crawl.pipeline.flush()
    assert [type(o) for o in crawl.outcomes] == [StoryItem] * 3
    with session_factory() as session:
        stored = {s.url: s for s in session.scalars(select(Story))}
        assert len(stored) == 3
        assert stored[stories[1].url].event_id is None
        assert stored[stories[0].url].event_id is not None
    stats = crawl.pipeline.crawler.stats
    assert stats.get_value("wirewatch/event_placement_failed") == 1
    run = _run(session_factory, crawl.run_id)
    assert (run.new, run.failed) == (3, 0)


def test_a_fault_in_the_event_signature_stores_the_story_without_an_event(
    crawl: Crawl, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: object) -> None:
        raise ValueError("a text the signature cannot read")

    monkeypatch.setattr(dedupe_stage, "signature_of", broken)
    item = _story(1, crawl.source_id)
    crawl.submit(item)
    crawl.pipeline.flush()
    assert item.event_signature is None
    assert [type(o) for o in crawl.outcomes] == [StoryItem]
    with session_factory() as session:
        (story,) = session.scalars(select(Story)).all()
        assert story.event_id is None and story.fingerprint is not None


def test_an_item_an_earlier_stage_failed_is_counted_and_its_feed_read_again(
    crawl: Crawl, session_factory: sessionmaker[Session]
) -> None:
    """Scrapy's item_error (any stage before the store raised): the run ends partial
    with the reason, and the feed's validators are held back so the entry comes again."""
    crawl.submit(
        SourceFetchItem(crawl.source_id, "wire", "https://wire.example/rss", 200, etag="e")
    )
    crawl.submit(_story(1, crawl.source_id))
    lost = _story(2, crawl.source_id)
    scrapy_crawler = crawl.pipeline.crawler
    scrapy_crawler.signals.send_catch_log(
        signal=signals.item_error,
        item=lost,
        response=None,
        spider=scrapy_crawler.spider,
        failure=Failure(RuntimeError("stage fault")),  # type: ignore[no-untyped-call]
    )
    crawl.pipeline.settle_validators()
    with session_factory() as session:
        assert [s.url for s in session.scalars(select(Story))] == [_story(1, 0).url]
        source = session.get(Source, crawl.source_id)
        assert source is not None and source.etag is None
    run = _run(session_factory, crawl.run_id)
    assert (run.new, run.failed) == (1, 1)
    (error,) = [e for e in run.errors if e["url"] == lost.url]
    assert error["source"] == "wire" and "stage fault" in error["error"]
    assert queries.crawl_outcome(run, crashed=False).value == "partial"
