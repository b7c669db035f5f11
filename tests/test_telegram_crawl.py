"""Telegram channel previews crawled like feeds: posts stored with permalinks, t.me never fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.runner import settle, start_crawl
from crawler.telegram import parse_telegram_page
from db import queries
from db.migrate import upgrade
from db.models import CrawlStatus, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from wirewatch.demo_site.server import FixtureSite
from wirewatch.demo_site.telegram_pages import page_of

pytestmark = pytest.mark.slow

FIXTURE_CHANNELS = Path(__file__).resolve().parents[1] / "wirewatch/demo_site/sites/telegram/s"


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
        runs = _crawl_channel(settings, factory, site, runs=2)
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


def _crawl_channel(
    settings: Settings, factory: sessionmaker[Session], site: FixtureSite, runs: int
) -> list[Any]:
    with unit_of_work(factory) as session:
        queries.upsert_source(
            session=session,
            name="tg-herald",
            kind=SourceKind.TELEGRAM,
            url=f"{site.base_url}/telegram/s/dushanbe_herald",
        )
    results = []
    for _ in range(runs):
        handle = start_crawl(settings, factory, crawl_all=True)
        handle.wait(timeout=120)
        results.append(settle(factory, handle))
    return results


@pytest.mark.parametrize("backfill", [5, 1])
def test_a_channel_longer_than_one_page_is_read_back_to_where_crawls_met(
    tmp_path: Path, backfill: int
) -> None:
    """t.me shows the newest posts only: older pages are followed while all posts are new."""
    database_url = f"sqlite:///{tmp_path / 'tg.db'}"
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        telegram_backfill_pages=backfill,
    )
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    entries_per_page = _fixture_pages("dushanbe_herald", size=4)
    assert len(entries_per_page) >= 3 and sum(entries_per_page) == 9
    with FixtureSite(telegram_page_size=4) as site:
        runs = _crawl_channel(settings, factory, site, runs=2)
        pages = [path for _, path, _ in site.request_log if path.startswith("/telegram/")]
    engine.dispose()
    assert [r.status for r in runs] == [CrawlStatus.SUCCEEDED, CrawlStatus.SUCCEEDED]
    walked = min(len(entries_per_page), 1 + backfill)
    assert runs[0].new == sum(entries_per_page[:walked])
    # the second crawl finds its newest page stored and does not reach further back
    assert runs[1].new == 0
    assert len(pages) == walked + 1
    assert sum("before=" in p for p in pages) == walked - 1


def _fixture_pages(channel: str, size: int) -> list[int]:
    """Entries on each page of the fixture channel, newest page first."""
    html = (FIXTURE_CHANNELS / f"{channel}.html").read_text(encoding="utf-8")
    counts: list[int] = []
    before: int | None = None
    while True:
        page = page_of(html, channel, before=before, size=size)
        feed = parse_telegram_page(page.encode(), base_url=f"https://t.me/s/{channel}")
        counts.append(len(feed.entries))
        if feed.older_page is None:
            return counts
        before = int(feed.older_page.rsplit("=", 1)[1])
