"""A crawl names why each source failed, backs failing sources off, pauses the hopeless ones.

Real crawls (Scrapy in its own process) against a fixture site on 127.0.0.1,
a closed port and a ``.invalid`` host, on both engines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlRun, CrawlStatus, Source, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from db.sources import next_poll_at
from tests.servers.sites import Page, StaticSite, static_site
from tests.source_sites import closed_port, pages

pytestmark = pytest.mark.slow


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def site() -> Iterator[StaticSite]:
    with static_site(pages()) as running:
        yield running


def _crawl(settings: Settings, factory: sessionmaker[Session], names: list[str]) -> CrawlRun:
    handle = start_crawl(settings, factory, source_names=names, trigger="test")
    handle.wait(timeout=120)
    return settle(factory, handle)


def _settings(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        **extra,  # type: ignore[arg-type]
    )


def test_each_failure_is_named_and_a_run_where_all_failed_is_failed(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session], site: StaticSite
) -> None:
    port = closed_port()
    failing = {
        "gone": site.url("/gone.xml"),
        "nowhere": "http://no-such-outlet.invalid/rss.xml",
        "closed": f"http://127.0.0.1:{port}/rss.xml",
    }
    with unit_of_work(factory) as session:
        for name, url in {**failing, "herald": site.url("/rss.xml")}.items():
            queries.upsert_source(session=session, name=name, url=url)
    settings = _settings(tmp_path, database_url)

    run = _crawl(settings, factory, [*failing, "herald"])
    assert run.status == CrawlStatus.PARTIAL, run.errors
    assert run.sources_failed == 3
    errors = {e["source"]: e["error"] for e in run.errors}
    assert errors["gone"] == "HTTP 404: Not Found"
    assert errors["nowhere"].startswith("DNS: the host no-such-outlet.invalid does not resolve")
    assert errors["closed"].startswith(f"connection: connection refused by 127.0.0.1:{port}")
    assert not any("RobotsTxtBlocked" in e for e in errors.values())
    with factory() as session:
        by_name = {s.name: s for s in queries.list_sources(session=session)}
        assert {n: by_name[n].failure_kind for n in failing} == {
            "gone": "http",
            "nowhere": "dns",
            "closed": "connection",
        }
        assert by_name["gone"].failing_since is not None and by_name["gone"].paused_at is None
        assert by_name["herald"].failure_kind is None and by_name["herald"].fetch_count == 1

    again = _crawl(settings, factory, list(failing))
    assert again.status == CrawlStatus.FAILED, again.errors  # every source failed


def test_a_failing_source_is_backed_off_then_paused_and_reprobed_daily(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session], site: StaticSite
) -> None:
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="gone", url=site.url("/gone.xml"), interval_minutes=30
        )
        source.failing_since = datetime.now(UTC) - timedelta(hours=49)
        source.error_count = 3
    run = _crawl(_settings(tmp_path, database_url), factory, ["gone"])
    assert run.status == CrawlStatus.FAILED
    with factory() as session:
        gone = session.get(Source, source.id)
        assert gone is not None and gone.paused_at is not None and gone.error_count == 4
        assert gone.last_crawled_at is not None
        assert next_poll_at(gone) == gone.last_crawled_at + timedelta(hours=24)
        now = gone.last_crawled_at + timedelta(hours=2)
        assert gone not in queries.due_sources(session=session, now=now)
        gone.paused_at = None  # unpaused, four failures in a row: 30 min doubled four times
        assert next_poll_at(gone) == gone.last_crawled_at + timedelta(minutes=30 * 16)


def test_a_json_feed_found_by_the_check_is_crawled(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session], site: StaticSite
) -> None:
    article = site.url("/news/2026/11/01/ministry-signs-deal-1")
    site.pages["/live.json"] = Page(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Akhbor",
                "items": [
                    {
                        "id": "1",
                        "url": article,
                        "title": "Ministry signs deal",
                        "summary": "The ministry signed a labour migration deal.",
                        "date_published": "2026-11-30T08:00:00Z",
                        "authors": [{"name": "Staff"}],
                    }
                ],
            }
        ).encode(),
        "application/feed+json",
    )
    with unit_of_work(factory) as session:
        queries.upsert_source(session=session, name="akhbor", url=site.url("/live.json"))
    run = _crawl(_settings(tmp_path, database_url), factory, ["akhbor"])
    assert run.status == CrawlStatus.SUCCEEDED and run.new == 1, run.errors
    with factory() as session:
        [story] = session.query(Story).all()
        assert story.url == article and story.title == "Ministry signs deal"
        assert story.published_at == datetime(2026, 11, 30, 8, tzinfo=UTC)
        assert story.found_kind == "feed" and story.found_delay_seconds is not None
