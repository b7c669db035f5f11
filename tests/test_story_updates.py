"""Same URL, changed text: a new version of the story, never a new story; unchanged entries stay put."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlRun, Source, Story, StoryVersion
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
    handle = start_crawl(settings, factory, crawl_all=True)
    handle.wait(timeout=120)
    return settle(factory, handle)


def test_changed_page_becomes_a_new_version(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    with FixtureSite(faults=True) as site:
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session,
                name="developing",
                url=f"{site.base_url}/_faults/changing.xml?key=water",
            )
        first = _crawl(settings, factory)
        second = _crawl(settings, factory)
    assert (first.new, first.updated) == (1, 0)
    assert (second.new, second.updated) == (0, 1)
    with factory() as session:
        story = session.scalars(select(Story)).one()
        versions = session.scalars(select(StoryVersion)).all()
    assert story.version == 2 and "update 2" in story.title
    assert [v.version for v in versions] == [1] and "update 1" in versions[0].title


def test_unchanged_entries_are_not_rewritten_without_validators(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    """A feed with no ETag/Last-Modified is re-read in full; stored stories must not change."""
    outlet = load_manifest().outlet("moskovsky-vestnik")  # summaries only: bodies come from pages
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    with FixtureSite() as site:
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session, name="vestnik", url=outlet.feed_url(site.base_url)
            )
        first = _crawl(settings, factory)
        with unit_of_work(
            factory
        ) as session:  # forget the validators, as a server without them would
            session.execute(update(Source).values(etag=None, last_modified=None))
        with factory() as session:
            bodies = dict(session.execute(select(Story.id, Story.body)).all())
        second = _crawl(settings, factory)
        article_requests = [p for m, p, s in site.request_log if m == "GET" and "/news/" in p]
    assert first.new == len(outlet.stories)
    assert (second.new, second.updated, second.duplicates) == (0, 0, len(outlet.stories))
    assert len(article_requests) == len(outlet.stories)  # pages fetched once, in the first crawl
    with factory() as session:
        assert dict(session.execute(select(Story.id, Story.body)).all()) == bodies
        assert session.scalar(select(func.count()).select_from(StoryVersion)) == 0
