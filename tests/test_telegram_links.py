"""A Telegram post that links to an article is tied to that article's story, either way round.

The tie does not depend on the post's words: a post saying only "read on our
site" joins the event of the article it links to, whether the article was
stored before the post or after it, and the story pages show the link both
ways. A crawl of the fixture channel and outlet proves the same end to end.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from crawler.events.index import EventIndex, Placement
from crawler.runner import settle, start_crawl
from crawler.urls import canonicalize_url, url_key
from db import queries
from db.models import CrawlStatus, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.event_reports import KENYA, OFFICE, T0, store_reports
from tests.factories import story_record
from web.app import create_app
from wirewatch.archive import story_detail
from wirewatch.demo_site.manifest import load_manifest
from wirewatch.demo_site.server import FixtureSite

ARTICLE = "https://asia-wire.example/news/2026/03/police-liaison-office-opens?utm_source=tg"
POST_TEXT = "Подробности на нашем сайте."


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _store(session: Session, key: str, url: str, title: str, body: str, hours: float) -> int:
    story_id = queries.insert_story_if_new(
        session=session,
        record=story_record(
            url_key(canonicalize_url(url)) if key == "article" else key,
            canonicalize_url(url),
            title=title,
            body=body,
            language="ru",
            published_at=T0 + timedelta(hours=hours),
        ),
    )
    assert story_id is not None
    return story_id


def _place(session: Session, story_id: int, links: frozenset[str] = frozenset()) -> Placement:
    story = session.get_one(Story, story_id)
    index = EventIndex()
    return index.place(session, story, index.signature(story, links))


def _article(session: Session) -> int:
    return _store(session, "article", ARTICLE, OFFICE[1].title, OFFICE[1].body, 3)


def _post(session: Session) -> int:
    return _store(session, "post", "https://t.me/asiawire/77", "Новость дня", POST_TEXT, 4)


@pytest.mark.parametrize("article_first", [True, False])
def test_a_post_joins_the_event_of_the_article_it_links_to(
    factory: sessionmaker[Session], article_first: bool
) -> None:
    with unit_of_work(factory) as session:
        # Other events around, so the post has somewhere else it could go.
        store_reports(session, [OFFICE[0], KENYA])
        if article_first:
            article = _article(session)
            _place(session, article)
            post = _post(session)
            placed = _place(session, post, frozenset({ARTICLE.replace("?utm_source=tg", "")}))
        else:
            post = _post(session)
            _place(session, post, frozenset({ARTICLE}))
            article = _article(session)
            placed = _place(session, article)
        assert placed.joined and placed.score == 1.0
    with factory() as session:
        assert session.get_one(Story, post).event_id == session.get_one(Story, article).event_id
        detail = story_detail(session, post)
        assert [m.story_id for m in detail.links_to] == [article]
        assert [m.story_id for m in story_detail(session, article).linked_from] == [post]


def test_a_post_linking_reports_of_two_events_ties_to_neither(
    factory: sessionmaker[Session],
) -> None:
    with unit_of_work(factory) as session:
        ids = store_reports(session, [OFFICE[0], KENYA])
        urls = [f"https://{r.source}.example/{r.key}" for r in (OFFICE[0], KENYA)]
        for story_id, url in zip(ids.values(), urls, strict=True):
            story = session.get_one(Story, story_id)
            story.url_key = url_key(canonicalize_url(url))
            story.canonical_url = canonicalize_url(url)
        post = _post(session)
        placed = _place(session, post, frozenset(urls))
    assert not placed.joined


def test_the_story_pages_show_the_link(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        article = _article(session)
        _place(session, article)
        post = _post(session)
        _place(session, post, frozenset({ARTICLE}))
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    with TestClient(create_app(settings)) as client:
        post_page = client.get(f"/stories/{post}").text
        article_page = client.get(f"/stories/{article}").text
    assert "Linked reports" in post_page and f'href="/stories/{article}"' in post_page
    assert "this post links to" in post_page
    assert "links here" in article_page and f'href="/stories/{post}"' in article_page


@pytest.mark.slow
@pytest.mark.parametrize("channel_first", [True, False])
def test_crawled_post_and_article_share_an_event(
    tmp_path: Path, database_url: str, factory: sessionmaker[Session], channel_first: bool
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
    )
    outlet = next(o for o in load_manifest().outlets if o.slug == "akhbori-tojikiston")
    with FixtureSite() as site:
        definitions = [
            ("tg-akhbor", SourceKind.TELEGRAM, f"{site.base_url}/telegram/s/akhbori_tojikiston"),
            ("akhbor", SourceKind.FEED, outlet.feed_url(site.base_url)),
        ]
        if not channel_first:
            definitions.reverse()
        for name, kind, url in definitions:
            with unit_of_work(factory) as session:
                queries.upsert_source(session=session, name=name, kind=kind, url=url)
            handle = start_crawl(settings, factory, source_names=[name])
            handle.wait(timeout=120)
            assert settle(factory, handle).status == CrawlStatus.SUCCEEDED
        article_url = f"{site.base_url}/akhbori-tojikiston/index.php?newsid=1041"
    with factory() as session:
        article = session.scalar(
            select(Story).where(Story.url_key == url_key(canonicalize_url(article_url)))
        )
        assert article is not None
        posts = story_detail(session, article.id).linked_from
        assert posts and all(p.url.startswith("https://t.me/akhbori_tojikiston/") for p in posts)
        for post in posts:
            assert session.get_one(Story, post.story_id).event_id == article.event_id
