"""Feeds to inbox, for real: a local news site, a crawl in a child process, a digest in the outbox.

Runs on SQLite and PostgreSQL. A second crawl of the same site stores nothing
new and sends nothing new; a malformed feed and dead sources are reported in
the crawl run while the good sources are stored.
"""

from __future__ import annotations

import email
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.senders import make_sender
from core.settings import Settings
from crawler.feeds import parse_feed
from crawler.runner import settle, start_crawl
from crawler.urls import canonicalize_url
from db import queries
from db.models import CrawlRun, CrawlStatus, Delivery, Frequency, Source, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from wirewatch.bootstrap import load_topics
from wirewatch.demo_site.manifest import Manifest, load_manifest
from wirewatch.demo_site.server import FixtureSite

TOPIC = "police-liaison-migration"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[FixtureSite]:
    with FixtureSite(faults=True) as running:
        yield running


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        mail_transport="outbox",
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        base_url="https://wirewatch.example",
    )


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _setup(
    factory: sessionmaker[Session], settings: Settings, site: FixtureSite, manifest: Manifest
) -> None:
    with unit_of_work(factory) as session:
        load_topics(session, settings.topics_file)
        for outlet in manifest.outlets:
            queries.upsert_source(
                session=session,
                name=outlet.slug,
                url=outlet.feed_url(site.base_url),
                language=outlet.language,
            )
        topic = queries.get_topic(session=session, slug=TOPIC)
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token="tok-e2e",
            confirmed=True,
        )


def _crawl(factory: sessionmaker[Session], settings: Settings) -> CrawlRun:
    handle = start_crawl(settings, factory, crawl_all=True, trigger="test")
    handle.wait(timeout=180)
    run = settle(factory, handle)
    assert run.status != CrawlStatus.RUNNING
    return run


def _outbox(settings: Settings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    messages = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def test_feeds_to_outbox_then_nothing_twice(
    site: FixtureSite, manifest: Manifest, settings: Settings, factory: sessionmaker[Session]
) -> None:
    _setup(factory, settings, site, manifest)

    run = _crawl(factory, settings)
    assert run.status == CrawlStatus.SUCCEEDED, run.errors
    assert run.sources_done == len(manifest.outlets)
    published = list(manifest.stories())
    with factory() as session:
        stored = {s.canonical_url for s in session.scalars(select(Story))}
    expected = {canonicalize_url(story.url(site.base_url)) for story in published}
    assert stored == expected
    assert run.new == len(published)

    summary = send_due_digests(factory, settings, make_sender(settings))
    assert summary.sent == 1, summary.errors
    [message] = _outbox(settings)
    assert message["To"] == "desk@newsroom.example"
    assert "new stor" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://wirewatch.example/u/tok-e2e" in message["List-Unsubscribe"]
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content()
    html = html_part.get_content()
    on_beat_originals = [s for s in manifest.on_beat() if s.syndicated_from is None]
    for story in on_beat_originals[:3]:
        assert story.title in text or any(
            copy.title in text for copy in manifest.on_beat() if copy.event == story.event
        ), f"on-beat story missing from the digest: {story.title}"
    for story in manifest.stories():
        if not story.on_beat:
            assert story.title not in text, f"off-beat story in the digest: {story.title}"
    assert "<script" not in html.lower()

    with factory() as session:
        delivered = session.scalar(select(func.count()).select_from(Delivery))
    assert delivered and delivered >= len(on_beat_originals)

    again = _crawl(factory, settings)
    assert again.status == CrawlStatus.SUCCEEDED, again.errors
    assert again.new == 0
    second = send_due_digests(factory, settings, make_sender(settings))
    assert second.sent == 0
    assert len(_outbox(settings)) == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == len(published)


def test_bad_sources_are_reported_and_good_ones_stored(
    site: FixtureSite, manifest: Manifest, settings: Settings, factory: sessionmaker[Session]
) -> None:
    outlet = manifest.outlets[0]
    with unit_of_work(factory) as session:
        queries.upsert_source(session=session, name="good", url=outlet.feed_url(site.base_url))
        queries.upsert_source(
            session=session, name="malformed", url=f"{site.base_url}/_faults/malformed.xml"
        )
        queries.upsert_source(
            session=session, name="server-error", url=f"{site.base_url}/_faults/status/500"
        )
        queries.upsert_source(session=session, name="dead", url="http://127.0.0.1:9/feed.xml")
        queries.upsert_source(session=session, name="not-a-feed", url=f"{site.base_url}/")

    run = _crawl(factory, settings)
    assert run.status == CrawlStatus.PARTIAL
    failed = {error["source"] for error in run.errors}
    assert {"server-error", "dead", "not-a-feed"} <= failed
    assert "malformed" in failed  # reported as malformed, entries kept
    assert "good" not in failed
    with factory() as session:
        sources = {s.name: s for s in session.scalars(select(Source))}
        assert sources["dead"].error_count == 1 and sources["dead"].last_error
        assert sources["good"].last_success_at is not None
        counts = dict(
            session.execute(
                select(Source.name, func.count(Story.id))
                .join(Story, Story.source_id == Source.id)
                .group_by(Source.name)
            ).all()
        )
    assert counts["good"] == len(outlet.stories)
    with urllib.request.urlopen(f"{site.base_url}/_faults/malformed.xml") as response:
        salvaged = parse_feed(response.read(), base_url=site.base_url).entries
    assert salvaged, "the fixture's malformed feed should still have salvageable entries"
    with factory() as session:
        stored = {s.canonical_url for s in session.scalars(select(Story))}
    missing = {canonicalize_url(e.link) for e in salvaged} - stored
    assert not missing, f"salvageable entries of the malformed feed were lost: {missing}"
