"""Every source of a crawl gets an outcome, whatever its feed URL redirects to.

Scrapy's duplicate filter used to drop a redirect hop to a URL already seen in
the crawl: a redirect loop, or a feed moved onto another source's URL, ended
with no error, no success and a "succeeded" crawl. Two sources with the same
feed URL lost the second the same way. Real crawls (child
processes) against the fixture site, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlRun, CrawlStatus, Source, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

pytestmark = pytest.mark.slow


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _crawl(settings: Settings, factory: sessionmaker[Session]) -> CrawlRun:
    handle = start_crawl(settings, factory, crawl_all=True, trigger="test")
    handle.wait(timeout=120)
    return settle(factory, handle)


def test_redirect_loops_and_moved_feeds_are_reported(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    outlet = load_manifest().outlets[0]
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    with FixtureSite(faults=True) as site:
        feed = outlet.feed_url(site.base_url)
        with unit_of_work(factory) as session:
            for name, url in (
                ("target", feed),
                ("twin", feed),
                ("moved", f"{site.base_url}/_faults/redirect?to={quote(feed, safe='')}&code=301"),
                ("looping", f"{site.base_url}/_faults/redirect-loop"),
            ):
                queries.upsert_source(session=session, name=name, url=url)
        run = _crawl(settings, factory)
        loop_hits = [p for _m, p, _s in site.request_log if p.startswith("/_faults/redirect-loop")]

    assert run.status == CrawlStatus.PARTIAL, run.errors
    assert run.sources_done == 4
    assert [error["source"] for error in run.errors] == ["looping"], run.errors
    assert "redirect loop" in run.errors[0]["error"]
    assert len(loop_hits) <= settings.max_redirects + 1  # bounded, and stopped at the repeat
    with factory() as session:
        sources = {s.name: s for s in session.scalars(select(Source))}
        stored = session.scalar(select(func.count()).select_from(Story))
    looping = sources["looping"]
    assert looping.error_count == 1 and looping.last_success_at is None
    assert looping.last_error and "redirect loop" in looping.last_error
    for name in ("moved", "target", "twin"):
        assert sources[name].last_success_at is not None, name
        assert sources[name].last_error is None, name
    assert stored == len(outlet.stories)  # the moved feed's stories are the target's: stored once
