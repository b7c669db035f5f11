"""`wirewatch stories delete|show` on SQLite and PostgreSQL, stories stored the crawler's way.

Deleting a story must leave its cluster as if the story had never been stored,
take it out of the archive search, keep its URL from ever being stored again,
and leave the delivery ledger of its copies alone (no one gets the story twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.digest import send_due_digests
from alerts.senders.mock import MockSender
from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from crawler.items import StoryItem
from crawler.pipelines.dedupe import DedupePipeline
from crawler.storage import store_story
from crawler.urls import choose_canonical
from db import queries
from db.models import (
    Cluster,
    Delivery,
    DeliveryStatus,
    LshBand,
    Story,
    StoryVersion,
    Tombstone,
    UpdateDelivery,
    Webhook,
    WebhookDelivery,
)
from db.search import SearchRequest, search, sync
from db.session import unit_of_work
from tests.test_dedup import AGENCY_BODY, AGENCY_TITLE, REPRINT_BODY, REPRINT_TITLE
from tests.test_digest_fixtures import NOW, TOKENS, TOPIC_SLUG, match, subscribe

runner = CliRunner()
_register_commands()

BASE = NOW - timedelta(hours=3)
# One agency report, a Tajik-language outlet's rewrite 20 minutes later, a verbatim copy after 40.
COPIES = (
    ("tass", "https://tass.example/news/1", AGENCY_TITLE, AGENCY_BODY, "ru", BASE),
    (
        "asiaplus",
        "https://asiaplus.example/news/2",
        REPRINT_TITLE,
        REPRINT_BODY,
        "tg",
        BASE + timedelta(minutes=20),
    ),
    (
        "vestnik",
        "https://vestnik.example/news/3",
        AGENCY_TITLE,
        AGENCY_BODY + "\n\nФото: ТАСС",
        "ru",
        BASE + timedelta(minutes=40),
    ),
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        send_max_attempts=1,
        send_backoff_max_seconds=0,
        base_url="https://ww.example",
    )
    # Wide consoles: a table cell wrapped at 80 columns would split what the tests look for.
    wide = AppContext(
        settings=settings, console=Console(width=200), err=Console(stderr=True, width=200)
    )
    reset_context(wide)
    yield settings
    reset_context(None)


def crawl(factory: sessionmaker[Session], copy: tuple[Any, ...]) -> queries.StoreOutcome:
    """One sighting through the crawler's own dedup and store stages."""
    source, url, title, body, language, published = copy
    with unit_of_work(factory) as session:
        src, _ = queries.upsert_source(session=session, name=source, url=f"{url}/rss")
        item = StoryItem(
            url=url,
            source_id=src.id,
            source_name=source,
            title=title,
            body=body,
            language=language,
            published=published,
            fetched_at=published + timedelta(minutes=5),
        )
        item.canonical_url = choose_canonical(url, None, None)
        DedupePipeline().process_item(item)
        return store_story(session, item)


def crawl_all(factory: sessionmaker[Session]) -> tuple[list[int], int]:
    """The three copies' story ids, and their (one) cluster's id."""
    ids = []
    for copy in COPIES:
        outcome = crawl(factory, copy)
        assert outcome.status == "new" and outcome.story_id is not None
        ids.append(outcome.story_id)
    with factory() as session:
        clusters = set(session.scalars(select(Story.cluster_id).where(Story.id.in_(ids))))
    [cluster_id] = clusters
    assert cluster_id is not None
    return ids, cluster_id


def delete(*args: str, answer: str | None = None) -> Any:
    return runner.invoke(app, ["stories", "delete", *args], input=answer)


def cluster_of(factory: sessionmaker[Session], cluster_id: int) -> Cluster | None:
    with factory() as session:
        return session.get(Cluster, cluster_id)


def bands_of(factory: sessionmaker[Session], story_id: int) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count()).select_from(LshBand).where(LshBand.story_id == story_id)
            )
            or 0
        )


def found(factory: sessionmaker[Session], query: str) -> set[int]:
    with unit_of_work(factory) as session:
        sync(session)
    with factory() as session:
        page = search(session, SearchRequest(query=query, collapse=False, limit=50))
        return {hit.story.id for hit in page.hits}


def stored(factory: sessionmaker[Session]) -> set[int]:
    with factory() as session:
        return set(session.scalars(select(Story.id)))


def test_deleting_the_first_report_moves_its_cluster_on(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    (first, second, third), cluster_id = crawl_all(session_factory)
    before = cluster_of(session_factory, cluster_id)
    assert before is not None
    assert (before.size, before.first_story_id, before.languages) == (3, first, {"ru": 2, "tg": 1})
    assert bands_of(session_factory, first) > 0
    assert found(session_factory, "представительство") == {first, second, third}

    result = delete(str(first), "--yes")

    assert result.exit_code == 0, result.output
    assert AGENCY_TITLE in result.output
    assert f"cluster {cluster_id} now has 2 stories, first reported by story {second}" in (
        result.output
    )
    after = cluster_of(session_factory, cluster_id)
    assert after is not None
    assert (after.size, after.first_story_id) == (2, second)
    assert after.first_seen_at == COPIES[1][5]
    assert after.languages == {"ru": 1, "tg": 1}
    assert bands_of(session_factory, first) == 0 and bands_of(session_factory, second) > 0
    assert found(session_factory, "представительство") == {second, third}
    with session_factory() as session:
        tombstone = session.scalar(select(Tombstone))
        assert tombstone is not None and tombstone.canonical_url == "https://tass.example/news/1"

    # The next crawl sees the same URL (with a tracking parameter): it stays deleted.
    again = crawl(
        session_factory, ("tass", "https://tass.example/news/1?utm_source=rss", *COPIES[0][2:])
    )
    assert again.status == "tombstoned" and again.story_id is None
    assert stored(session_factory) == {second, third}
    recounted = cluster_of(session_factory, cluster_id)
    assert recounted is not None and recounted.size == 2


def test_deleting_every_copy_deletes_the_cluster(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    ids, cluster_id = crawl_all(session_factory)

    result = delete(*map(str, ids), "--yes")

    assert result.exit_code == 0, result.output
    assert f"it was the last story of cluster {cluster_id}, which is gone" in result.output
    assert cluster_of(session_factory, cluster_id) is None
    assert stored(session_factory) == set()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LshBand)) == 0
        assert session.scalar(select(func.count()).select_from(Tombstone)) == 3
    assert found(session_factory, "представительство") == set()


def test_unknown_ids_are_named_and_the_rest_still_deleted(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    (first, second, third), _ = crawl_all(session_factory)

    result = delete("987654", str(first), "--yes")

    assert result.exit_code == 1
    assert "no story with id 987654" in result.output
    assert stored(session_factory) == {second, third}

    again = delete(str(first), str(first), "--yes")

    assert again.exit_code == 1
    assert f"no story with id {first}: already deleted, or never stored" in again.output
    assert again.output.count(f"id {first}") == 1  # named twice, reported once


def test_the_id_of_a_deleted_story_is_never_given_to_another(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Links, emails and a repeated delete name a story by id: it must stay that story's."""
    first, second, newest = (crawl(session_factory, copy).story_id for copy in COPIES)
    assert first is not None and second is not None and newest is not None

    assert delete(str(newest), "--yes").exit_code == 0
    later = crawl(session_factory, ("vestnik", "https://vestnik.example/news/4", *COPIES[2][2:]))

    assert later.status == "new" and later.story_id is not None and later.story_id > newest
    repeated = delete(str(newest), "--yes")
    assert repeated.exit_code == 1
    assert f"no story with id {newest}: already deleted, or never stored" in repeated.output
    assert stored(session_factory) == {first, second, later.story_id}


def test_nothing_is_deleted_unless_the_user_says_yes(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    (first, second, third), cluster_id = crawl_all(session_factory)

    refused = delete(str(first), answer="n\n")

    assert refused.exit_code != 0
    assert AGENCY_TITLE in refused.output and "Delete 1 story?" in refused.output
    assert stored(session_factory) == {first, second, third}
    cluster = cluster_of(session_factory, cluster_id)
    assert cluster is not None and cluster.size == 3
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Tombstone)) == 0

    accepted = delete(str(first), answer="y\n")

    assert accepted.exit_code == 0, accepted.output
    assert stored(session_factory) == {second, third}


def test_a_sent_story_can_be_deleted_and_its_copies_are_not_sent_again(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Every table that names the story lets it go; the copies' ledger rows stay and hold."""
    with unit_of_work(session_factory) as session:
        subscribe(session, "editor@example.org")
    (first, second, third), _ = crawl_all(session_factory)
    match(session_factory)
    sender = MockSender()
    sent = send_due_digests(session_factory, settings, sender, now=NOW, tokens=TOKENS)
    assert sent.sent == 1
    with unit_of_work(session_factory) as session:
        subscriber_id = session.scalars(select(Delivery.subscriber_id)).first()
        assert subscriber_id is not None
        topic = queries.get_topic(session=session, slug=TOPIC_SLUG)
        hook = Webhook(topic_id=topic.id, url="https://hooks.example/in", secret="s", active=False)
        session.add(hook)
        session.flush()
        old = StoryVersion(story_id=first, version=1, title="old", body="old", fingerprint="0")
        session.add(old)
        session.add(
            UpdateDelivery(
                subscriber_id=subscriber_id,
                story_id=first,
                status=DeliveryStatus.SENT,
                story_version=2,
            )
        )
        session.add(
            WebhookDelivery(
                webhook_id=hook.id, story_id=first, batch_id="b1", status=DeliveryStatus.SENT
            )
        )

    result = delete(str(first), "--yes")

    assert result.exit_code == 0, result.output
    with session_factory() as session:
        ledger = {d.story_id: d.status for d in session.scalars(select(Delivery))}
        assert ledger == {second: DeliveryStatus.SENT, third: DeliveryStatus.SENT}
        for table in (StoryVersion, UpdateDelivery, WebhookDelivery):
            assert session.scalar(select(func.count()).select_from(table)) == 0, table
    later = send_due_digests(
        session_factory, settings, sender, now=NOW + timedelta(hours=1), tokens=TOKENS
    )
    assert later.sent == 0 and len(sender.sent) == 1


def test_show_names_source_dates_and_the_rest_of_the_cluster(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    (first, second, _), cluster_id = crawl_all(session_factory)

    shown = runner.invoke(app, ["stories", "show", str(second)])

    assert shown.exit_code == 0, shown.output
    assert REPRINT_TITLE in shown.output
    assert "asiaplus" in shown.output and "https://asiaplus.example/news/2" in shown.output
    assert f"{cluster_id}: 3 stories (ru 2, tg 1), first reported by story {first}" in shown.output
    assert "tass" in shown.output and "vestnik" in shown.output  # the other members
    assert BASE.strftime("%Y-%m-%d %H:%M") in shown.output

    missing = runner.invoke(app, ["stories", "show", "987654"])

    assert missing.exit_code == 1 and "987654" in missing.output
