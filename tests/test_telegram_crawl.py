"""Telegram channel previews crawled like feeds: posts stored with permalinks, t.me never fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlStatus, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from wirewatch.demo_site.server import FixtureSite
from wirewatch.settings import Settings

pytestmark = pytest.mark.slow


def test_channel_posts_are_stored_once(tmp_path: Path, database_url: str) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with FixtureSite() as site:
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session,
                name="tg-herald",
                kind=SourceKind.TELEGRAM,
                url=f"{site.base_url}/telegram/s/dushanbe_herald",
            )
        runs = []
        for _ in range(2):
            handle = start_crawl(settings, factory, crawl_all=True)
            handle.wait(timeout=120)
            runs.append(settle(factory, handle))
        requested = [path for _, path, _ in site.request_log]
    assert [r.status for r in runs] == [CrawlStatus.SUCCEEDED, CrawlStatus.SUCCEEDED]
    assert runs[0].new == 9 and runs[1].new == 0
    assert all(not p.startswith("/dushanbe_herald/") for p in requested)
    with factory() as session:
        stories = session.scalars(select(Story)).all()
    engine.dispose()
    assert len(stories) == 9
    assert all(s.canonical_url.startswith("https://t.me/dushanbe_herald/") for s in stories)
    assert all(s.title and s.body for s in stories)
    assert [s.language for s in stories].count("ru") >= 8, [(s.language, s.title) for s in stories]
