"""Builders shared by the digest, subscription, webhook, event and feed tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from alerts.matching import match_pending
from alerts.tokens import Tokens
from db import queries
from db.models import Frequency, Story, Subscription, Topic
from db.session import unit_of_work
from tests.factories import story_record

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOKENS = Tokens(b"test-key-for-signed-links-0123456789")
TOPIC_SLUG = "mvd"
TOPIC_NAME = "MVD offices"
TOPIC_QUERY = "МВД OR представительство"


def topic(session: Session, slug: str = TOPIC_SLUG, query: str = TOPIC_QUERY) -> Topic:
    name = TOPIC_NAME if slug == TOPIC_SLUG else slug.replace("-", " ").title()
    row, _ = queries.upsert_topic(session=session, slug=slug, name=name, query=query)
    return row


def story(
    session: Session,
    n: int,
    title: str,
    *,
    body: str | None = None,
    source: str = "herald",
    language: str = "ru",
    cluster: int | None = None,
    published: datetime | None = None,
) -> int:
    src, _ = queries.upsert_source(
        session=session, name=source, url=f"https://{source}.example/rss"
    )
    story_id = queries.insert_story_if_new(
        session=session,
        record=story_record(
            n,
            f"https://{source}.example/{n}",
            source_id=src.id,
            title=title,
            body=body if body is not None else f"{title}. Представительство МВД в Москве.",
            language=language,
            published_at=published or NOW - timedelta(hours=1, minutes=n),
            fetched_at=NOW - timedelta(hours=1),
        ),
    )
    assert story_id is not None
    if cluster is not None:
        row = session.get(Story, story_id)
        assert row is not None
        row.cluster_id = cluster
    return story_id


def subscribe(
    session: Session,
    email: str,
    frequency: Frequency = Frequency.INSTANT,
    *,
    slug: str = TOPIC_SLUG,
    timezone: str = "UTC",
    hour: int = 8,
    weekday: int = 0,
    confirmed_at: datetime | None = None,
    include_updates: bool = True,
    ordering: str = "newest",
) -> Subscription:
    """A confirmed subscription that began two hours before NOW (operator path)."""
    sub, _ = queries.subscribe(
        session=session,
        email=email,
        topic=topic(session, slug),
        frequency=frequency,
        token=f"tok-{slug}-{email}",
        confirmed=True,
        timezone=timezone,
        send_hour=hour,
        send_weekday=weekday,
        include_updates=include_updates,
        ordering=ordering,
    )
    sub.created_at = sub.confirmed_at = confirmed_at or NOW - timedelta(hours=2)
    session.flush()
    return sub


def match(factory: sessionmaker[Session], when: datetime = NOW - timedelta(minutes=30)) -> None:
    """Match pending stories, as if it happened at ``when``."""
    with unit_of_work(factory) as session:
        match_pending(session)
    with unit_of_work(factory) as session:
        from db.models import TopicMatch

        for row in session.query(TopicMatch).filter(TopicMatch.matched_at > when):
            row.matched_at = when


def seed(factory: sessionmaker[Session], emails: list[str], stories: int = 2) -> None:
    with unit_of_work(factory) as session:
        for email in emails:
            subscribe(session, email)
        for n in range(stories):
            story(session, n, f"МВД открывает офис номер {n}")
    match(factory)
