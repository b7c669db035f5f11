"""Sitemap, section and search sources crawled for real: fixture sites on 127.0.0.1, a
crawl in a child process, both database engines.

Each new article is fetched once and stored once; what the sources' pages do
not point to as recent articles (old or undated sitemap entries, menus,
sidebars, pagination) is never requested. Search results are filed under the
outlets that published them. Every fetch leaves the source a next poll time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.query import parse
from core.query.search_string import search_string
from core.settings import Settings
from crawler.items import SourceFetchItem
from crawler.polling import PollBounds, PollHints
from crawler.runner import settle, start_crawl
from crawler.scheduling import PollScheduler
from db import queries, sources
from db.models import CrawlRun, CrawlStatus, Source, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import corpus
from tests.factories import story_record
from tests.servers.newsroom import newsroom
from tests.source_kinds_site import build_section_site, build_sitemap_site, search_feed
from wirewatch.bootstrap import load_topics

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _crawl(factory: sessionmaker[Session], settings: Settings) -> CrawlRun:
    handle = start_crawl(settings, factory, crawl_all=True, trigger="test")
    handle.wait(timeout=180)
    run = settle(factory, handle)
    assert run.status != CrawlStatus.RUNNING
    return run


def _stories(factory: sessionmaker[Session]) -> dict[str, Story]:
    with factory() as session:
        return {s.canonical_url: s for s in session.scalars(select(Story))}


def test_sitemap_found_from_robots_recent_articles_fetched_once(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with newsroom() as site:
        expected = build_sitemap_site(site, datetime.now(UTC))
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session, name="wire", url=site.base_url + "/", kind=SourceKind.SITEMAP
            )
        first = _crawl(factory, settings)
        second = _crawl(factory, settings)
        log = list(site.requests)
    assert first.status == CrawlStatus.SUCCEEDED, first.errors
    assert (first.new, second.new) == (2, 0)
    stored = _stories(factory)
    assert set(stored) == set(expected)
    # news:title and news:publication_date come from the sitemap.
    assert {url: s.title for url, s in stored.items()} == expected
    assert all(not s.published_estimated for s in stored.values())
    for url in expected:
        assert log.count(urlsplit(url).path) == 1, log
    assert "/maps/archive-2019.xml" not in log
    assert "/news/2018/old-story" not in log and "/news/undated-story" not in log
    assert "/robots.txt" in log
    with factory() as session:
        wire = queries.get_source(session=session, name="wire")
        assert wire.last_error is None and wire.next_poll_at is not None
        assert 5 <= (wire.poll_minutes or 0) <= 24 * 60


def test_section_pages_by_heuristics_and_by_rules(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with newsroom() as site:
        expected = build_section_site(site, datetime.now(UTC))
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session,
                name="ministry",
                url=site.base_url + "/press/",
                kind=SourceKind.SECTION,
            )
            queries.upsert_source(
                session=session,
                name="notices",
                url=site.base_url + "/notices/",
                kind=SourceKind.SECTION,
            )
            sources.set_link_rules(session=session, name="notices", rules={"css": ".notice-list a"})
        first = _crawl(factory, settings)
        second = _crawl(factory, settings)
        log = list(site.requests)
    assert first.status == CrawlStatus.SUCCEEDED, first.errors
    assert (first.new, second.new) == (5, 0)
    stored = _stories(factory)
    notices = {f"{site.base_url}/notice?id={n}" for n in (1, 2)}
    assert set(stored) == set(expected) | notices
    for url, title in expected.items():
        assert stored[url].title == title
        assert stored[url].body.count("liaison officers") >= 1
        assert log.count(urlsplit(url).path) == 1
    never = ["/about", "/contacts", "/privacy", "/tag/police", "/press/page/2", "/img/0.jpg"]
    never += ["/press/2026/12/ministers-meet-in-dushanbe-9001"]  # in the menu
    never += ["/press/2025/01/an-old-popular-release-about-visas-77"]  # in the sidebar
    assert not [path for path in never if path in log]


def test_a_section_page_without_article_links_says_so(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with newsroom() as site:
        build_section_site(site, datetime.now(UTC))
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session,
                name="notices",
                url=site.base_url + "/notices/",
                kind=SourceKind.SECTION,
            )
        run = _crawl(factory, settings)
    assert run.new == 0
    with factory() as session:
        error = queries.get_source(session=session, name="notices").last_error or ""
    assert "no article links found" in error and "link rules" in error


def test_search_feed_per_topic_stories_filed_under_their_outlets(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with newsroom() as engine_site, newsroom() as ministry, newsroom() as elsewhere:
        now = datetime.now(UTC)
        releases = build_section_site(ministry, now)
        other = build_sitemap_site(elsewhere, now)
        results = [(title, url) for url, title in list(releases.items())[:2]]
        results += [(title, url) for url, title in list(other.items())[:1]]
        engine_site.put("/search/rss", search_feed(results), "application/rss+xml")
        with unit_of_work(factory) as session:
            load_topics(session, settings.topics_file)
            topics = [
                (t.slug, t.query) for t in queries.list_topics(session=session, enabled_only=True)
            ]
            # The ministry is already a source: its stories are filed under it.
            queries.upsert_source(
                session=session,
                name="ministry",
                url=ministry.base_url + "/press/",
                kind=SourceKind.SECTION,
                enabled=False,
            )
            queries.upsert_source(
                session=session,
                name="news-search",
                url=engine_site.base_url + "/search/rss?q={query}&hl=ru",
                kind=SourceKind.SEARCH,
            )
        run = _crawl(factory, settings)
        searched = engine_site.requested("/search/rss")
    assert run.status == CrawlStatus.SUCCEEDED, run.errors
    assert run.new == 3
    # One search per topic, its words from the topic's query, URL-encoded.
    asked = sorted(parse_qs(urlsplit(path).query)["q"][0] for path in searched)
    assert asked == sorted(search_string(parse(query)) for _, query in topics)
    assert all("hl=ru" in path for path in searched)
    with factory() as session:
        by_url = {
            s.canonical_url: s.source.name if s.source else None
            for s in session.scalars(select(Story))
        }
        outlet = session.scalar(
            select(Source).where(Source.name == urlsplit(elsewhere.base_url).netloc)
        )
        assert outlet is not None and not outlet.enabled and outlet.kind == SourceKind.SECTION
        assert outlet.homepage == elsewhere.base_url + "/"
    assert [by_url[url] for _, url in results[:2]] == ["ministry", "ministry"]
    assert by_url[results[2][1]] == urlsplit(elsewhere.base_url).netloc


def test_due_sources_follow_next_poll_time(factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        for name in ("later", "now", "never-crawled"):
            queries.upsert_source(session=session, name=name, url=f"https://{name}.example/rss")
        sources.schedule_next_poll(
            session=session,
            source_id=queries.get_source(session=session, name="later").id,
            when=now,
            interval_minutes=120,
        )
        sources.schedule_next_poll(
            session=session,
            source_id=queries.get_source(session=session, name="now").id,
            when=now - timedelta(hours=3),
            interval_minutes=60,
        )
    with factory() as session:
        due = {s.name for s in queries.due_sources(session=session, now=now)}
        later = queries.get_source(session=session, name="later")
        assert later.poll_minutes == 120
    assert due == {"now", "never-crawled"}


def test_each_fetch_sets_the_next_poll_from_rate_and_hints(factory: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    scheduler = PollScheduler(
        adaptive=True, bounds=PollBounds(min_minutes=5, max_minutes=24 * 60, jitter=0)
    )
    with unit_of_work(factory) as session:
        busy, _ = queries.upsert_source(session=session, name="busy", url="https://b.example/rss")
        quiet, _ = queries.upsert_source(session=session, name="quiet", url="https://q.example/rss")
        busy.created_at = quiet.created_at = now - timedelta(days=60)
        for n in range(10):  # stored: ten stories, one every 12 hours
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    f"q{n}",
                    f"https://q.example/{n}",
                    source_id=quiet.id,
                    published_at=now - timedelta(hours=12 * n + 6),
                ),
            )
        session.flush()
        # The busy feed lists 20 entries of the last 100 minutes, none stored yet.
        listed = [now - timedelta(minutes=5 * n) for n in range(20)]
        scheduler.schedule(
            session, SourceFetchItem(busy.id, "busy", busy.url, 200, published=listed), now
        )
        scheduler.schedule(session, SourceFetchItem(quiet.id, "quiet", quiet.url, 200), now)
    with factory() as session:
        assert queries.get_source(session=session, name="busy").poll_minutes == 5
        quiet_row = queries.get_source(session=session, name="quiet")
        assert quiet_row.poll_minutes == round(114 * 60 / 10)  # the span they cover, per story
    with unit_of_work(factory) as session:
        # The server asks for an hour between polls, then says "come back in three".
        hinted = SourceFetchItem(
            busy.id, "busy", busy.url, 200, published=listed, hints=PollHints(feed_minutes=60)
        )
        scheduler.schedule(session, hinted, now)
        assert queries.get_source(session=session, name="busy").poll_minutes == 60
        for n, when in enumerate(listed):  # the crawl stored what the feed listed
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    f"b{n}", f"https://b.example/{n}", source_id=busy.id, published_at=when
                ),
            )
        session.flush()
        retry = SourceFetchItem(
            busy.id,
            "busy",
            busy.url,
            503,
            error="HTTP 503",
            hints=PollHints(retry_after_minutes=180),
        )
        scheduler.schedule(session, retry, now)
        busy_row = queries.get_source(session=session, name="busy")
        assert busy_row.poll_minutes == 180
        assert busy_row.next_poll_at == now + timedelta(minutes=180)


def test_a_section_page_leading_to_real_article_pages(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """Article pages from real outlets (the shared news corpus) behind a section page."""
    pages = corpus("news", "pages")
    real = {
        "/world/2026/12/migration-agreement-summit-5501": (
            pages / "trafilatura" / "ticotimes.net-migration.html",
            "The United States is seeking to reach a firm agreement",
        ),
        "/us/2026/12/winter-storm-east-coast-5502": (
            pages / "newspaper4k" / "cnn_article.html",
            "The Pennsylvania official was just talking about one area",
        ),
    }
    cards = "".join(
        f'<li><a href="{path}">{" ".join(path.rsplit("/", 1)[1].split("-")[:-1])}</a>'
        f" <time>{datetime.now(UTC):%d.%m.%Y}</time></li>"
        for path in real
    )
    with newsroom() as site:
        site.put(
            "/latest/",
            f"<html><body><nav><a href='/'>Home</a></nav><main><ul>{cards}</ul></main></body></html>",
        )
        for path, (file, _) in real.items():
            site.put(path, file.read_bytes())
        with unit_of_work(factory) as session:
            queries.upsert_source(
                session=session,
                name="real",
                url=site.base_url + "/latest/",
                kind=SourceKind.SECTION,
            )
        run = _crawl(factory, settings)
        base = site.base_url
    assert run.status == CrawlStatus.SUCCEEDED, run.errors
    stored = _stories(factory)
    assert set(stored) == {base + path for path in real}
    for path, (_, opening) in real.items():
        story = stored[base + path]
        assert opening in story.body, story.body[:300]
        assert story.extraction_method not in ("section-link", "feed-summary")
