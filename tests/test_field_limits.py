"""Oversized fields from a feed are cut before they are stored, so pages and emails stay small.

A hostile (or broken) feed once got a 5 MB title stored whole: its story page
was 10.5 MB and a digest 26 MB. Here a real crawl (child process) reads such a
feed from a server on 127.0.0.1, on SQLite and PostgreSQL; the stored story,
its page and the digest email that carries it are all bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.senders import make_sender
from core import limits
from core.settings import Settings
from crawler.runner import settle, start_crawl
from db import queries
from db.models import CrawlStatus, Frequency, Source, Story
from db.session import unit_of_work
from tests.servers.smtp import SmtpTestServer
from tests.test_netguard import LocalSite, local_sites, page
from web.app import create_app

pytestmark = pytest.mark.slow

SENTENCE = "Представительство МВД Таджикистана откроется в Москве в следующем месяце. "
HUGE_TITLE = "МВД Таджикистана: " + "очень длинный заголовок " * 110_000  # 5 MB of UTF-8
HUGE_SUMMARY = SENTENCE * 4_000  # 0.5 MB of UTF-8
HUGE_AUTHOR = "Редакция " * 20_000
# Full text in the feed, just over the body limit (the article page is then not fetched).
FULL_TEXT = "".join(f"<p>{SENTENCE}{n}.</p>" for n in range(4_500))


def _feed(site: LocalSite) -> bytes:
    items = [
        (
            f"<item><title>{escape(HUGE_TITLE)}</title><link>{site.url('/news/1')}</link>"
            f"<author>{escape(HUGE_AUTHOR)}</author>"
            f"<guid>{'g' * 50_000}</guid>"
            f"<description>{escape(HUGE_SUMMARY)}</description>"
            f"<content:encoded>{escape(FULL_TEXT)}</content:encoded></item>"
        ),
        (
            f"<item><title>МВД Таджикистана: обычная новость</title><link>{site.url('/news/2')}</link>"
            f"<description>{escape(SENTENCE)}</description></item>"
        ),
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Вестник</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def _article(paragraphs: int) -> bytes:
    body = "".join(f"<p>{SENTENCE}{n}.</p>" for n in range(paragraphs))
    return (
        "<!doctype html><html lang=ru><head><meta charset=utf-8><title>Вестник</title></head>"
        f"<body><article><h1>Заголовок</h1>{body}</article></body></html>"
    ).encode()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with local_sites() as make:
        served = make({})
        served.routes.update(
            {
                "/rss": lambda h, s: page(_feed(served), **{"Content-Type": "application/rss+xml"})(
                    h, s
                ),
                "/news/1": page(_article(5)),
                "/news/2": page(_article(5)),
            }
        )
        yield served


def test_a_feed_with_huge_fields_is_stored_capped_and_its_page_and_digest_are_bounded(
    tmp_path: Path,
    database_url: str,
    session_factory: sessionmaker[Session],
    site: LocalSite,
    smtp_server: SmtpTestServer,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        smtp_url=smtp_server.url,
        base_url="https://ww.example",
    )
    with unit_of_work(session_factory) as session:
        queries.upsert_source(session=session, name="vestnik", url=site.url("/rss"), language="ru")
        topic, _ = queries.upsert_topic(
            session=session, slug="mvd", name="MVD", query="МВД AND Таджикистан*"
        )
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.DAILY,
            token="tok-1",
            confirmed=True,
        )
    handle = start_crawl(settings, session_factory, crawl_all=True, trigger="test")
    handle.wait(timeout=180)
    run = settle(session_factory, handle)
    assert run.status == CrawlStatus.SUCCEEDED, run.errors

    with session_factory() as session:
        stories = {s.url: s for s in session.scalars(select(Story))}
        source = session.scalars(select(Source)).one()
    assert source.last_error is None
    huge = stories[site.url("/news/1")]
    assert huge.title.startswith("МВД Таджикистана: очень длинный заголовок")
    assert huge.title.endswith(limits.ELLIPSIS) and len(huge.title) <= limits.TITLE_CHARS
    assert len(huge.summary) <= limits.SUMMARY_CHARS and huge.summary.endswith(limits.ELLIPSIS)
    assert len(huge.body) <= limits.BODY_CHARS and huge.body.endswith(limits.ELLIPSIS)
    assert len(huge.body) > limits.BODY_CHARS * 0.9  # a long article keeps nearly all its text
    assert huge.guid is not None and len(huge.guid) <= limits.GUID_CHARS
    assert all(len(author) <= limits.AUTHOR_CHARS for author in huge.authors)
    ordinary = stories[site.url("/news/2")]
    assert ordinary.title == "МВД Таджикистана: обычная новость"  # untouched

    with TestClient(create_app(settings)) as client:
        story_page = client.get(f"/stories/{huge.id}")
        listing = client.get("/", params={"q": "МВД"})
    assert story_page.status_code == 200 and listing.status_code == 200
    # Title, summary and body at their limits in UTF-8 Cyrillic, plus the page itself.
    bound = 2 * (limits.TITLE_CHARS * 3 + limits.SUMMARY_CHARS + limits.BODY_CHARS) + 100_000
    assert len(story_page.content) < bound, len(story_page.content)
    assert len(listing.content) < 200_000, len(listing.content)

    later = datetime.now(UTC) + timedelta(days=1)
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=later)
    assert summary.sent >= 1 and summary.stories == 2, summary.errors
    sizes = [len(received.raw) for received in smtp_server.messages]
    assert max(sizes) <= settings.digest_max_bytes, sizes
    assert max(sizes) < 100_000, sizes  # one capped title and a snippet: far below the cap
