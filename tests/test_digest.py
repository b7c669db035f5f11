"""Digests: due periods in local time, and each story to each subscriber at most once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import _claim, recover_interrupted, send_due_digests
from alerts.matching import match_pending
from alerts.schedule import due_period
from alerts.senders import MockSender, OutgoingMessage, SendResult
from db import queries
from db.models import Cluster, Delivery, DeliveryStatus, Digest, Frequency, Story, Subscription
from db.session import unit_of_work
from wirewatch.errors import PermanentDeliveryError, TemporaryDeliveryError, TransportAuthError
from wirewatch.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        send_max_attempts=2,
        send_backoff_max_seconds=0,
        base_url="https://ww.example",
    )


def _story(
    session: Session, n: int, title: str, *, source: str = "herald", cluster: int | None = None
) -> int:
    src, _ = queries.upsert_source(
        session=session, name=source, url=f"https://{source}.example/rss"
    )
    story_id = queries.insert_story_if_new(
        session=session,
        record=queries.StoryRecord(
            url_key=f"{n:064d}",
            canonical_url=f"https://{source}.example/{n}",
            url=f"https://{source}.example/{n}",
            canonicalizer_version=1,
            guid=None,
            source_id=src.id,
            title=title,
            body=f"{title}. Представительство МВД в Москве.",
            summary="",
            authors=[],
            language="ru",
            published_at=NOW - timedelta(hours=1, minutes=n),
            published_estimated=False,
            fetched_at=NOW - timedelta(hours=1),
            fingerprint=f"{n:064x}",
            extraction_method="feed",
        ),
    )
    assert story_id is not None
    if cluster is not None:
        session.get(Story, story_id).cluster_id = cluster  # type: ignore[union-attr]
    return story_id


def _subscribe(session: Session, email: str, frequency: Frequency = Frequency.INSTANT) -> None:
    topic, _ = queries.upsert_topic(session=session, slug="mvd", name="MVD offices", query="МВД")
    queries.subscribe(
        session=session,
        email=email,
        topic=topic,
        frequency=frequency,
        token=f"tok-{email}",
        confirmed=True,
    )
    sub = queries.subscriptions_of(session=session, email=email)[0]
    sub.created_at = sub.confirmed_at = NOW - timedelta(hours=2)


def _seed(factory: sessionmaker[Session], emails: list[str], stories: int = 2) -> None:
    with unit_of_work(factory) as session:
        for email in emails:
            _subscribe(session, email)
        for n in range(stories):
            _story(session, n, f"МВД открывает офис номер {n}")
    with unit_of_work(factory) as session:
        match_pending(session)


def _send(
    factory: sessionmaker[Session], settings: Settings, sender: MockSender, now: datetime = NOW
):  # type: ignore[no-untyped-def]
    return send_due_digests(factory, settings, sender, now=now, sleep=lambda _: None)


def test_each_story_reaches_each_subscriber_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example", "b@x.example"])
    sender = MockSender()
    first = _send(session_factory, settings, sender)
    assert first.sent == 2 and first.stories == 4
    assert {m.to for m in sender.sent} == {"a@x.example", "b@x.example"}
    message = sender.sent[0]
    assert message.subject == "2 new stories: MVD offices"
    assert message.custom_args["digest_id"]
    assert "МВД открывает офис номер 1" in message.text
    second = _send(session_factory, settings, sender, NOW + timedelta(minutes=5))
    assert second.sent == 0 and len(sender.sent) == 2
    with unit_of_work(session_factory) as session:
        _story(session, 7, "МВД: новый офис")
    third = _send(session_factory, settings, sender, NOW + timedelta(minutes=10))
    assert third.sent == 2
    assert all("1 new story" in m.subject for m in sender.sent[2:])


def test_temporary_failure_defers_and_the_next_run_sends(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example"])

    def down(_: OutgoingMessage) -> SendResult:
        raise TemporaryDeliveryError("503 from provider", retry_after=0)

    failing = MockSender(down)
    summary = _send(session_factory, settings, failing)
    assert summary.sent == 0 and summary.deferred == 1
    assert len(failing.offered) == settings.send_max_attempts
    working = MockSender()
    later = _send(session_factory, settings, working, NOW + timedelta(minutes=1))
    assert later.sent == 1 and later.stories == 2
    with session_factory() as session:
        statuses = {d.status for d in session.scalars(select(Delivery))}
    assert statuses == {DeliveryStatus.SENT}


def test_permanent_failure_is_recorded_and_not_retried(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example"])

    def rejected(_: OutgoingMessage) -> SendResult:
        raise PermanentDeliveryError("400: invalid address")

    sender = MockSender(rejected)
    summary = _send(session_factory, settings, sender)
    assert summary.failed == 1 and len(sender.offered) == 1
    assert "invalid address" in summary.errors[0]
    again = _send(session_factory, settings, MockSender(), NOW + timedelta(minutes=1))
    assert again.sent == 0
    with session_factory() as session:
        digest = session.scalars(select(Digest)).one()
        assert digest.status == DeliveryStatus.FAILED and "invalid address" in (digest.error or "")


def test_auth_error_stops_the_run_and_loses_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example", "b@x.example"])

    def revoked(_: OutgoingMessage) -> SendResult:
        raise TransportAuthError("401: the API key was revoked")

    sender = MockSender(revoked)
    summary = _send(session_factory, settings, sender)
    assert len(sender.offered) == 1  # stopped at the first refusal
    assert any("credentials" in e for e in summary.errors)
    fixed = MockSender()
    later = _send(session_factory, settings, fixed, NOW + timedelta(minutes=1))
    assert later.sent == 2


def test_a_second_scheduler_cannot_claim_the_same_period(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example"])
    with session_factory() as session:
        sub_id = session.scalars(select(Subscription.id)).one()
    first = _claim(session_factory, settings, sub_id, "D2026-11-28", NOW, dry_run=False)
    second = _claim(session_factory, settings, sub_id, "D2026-11-28", NOW, dry_run=False)
    assert first is not None
    assert second is None


def test_interrupted_send_is_not_repeated_and_the_rest_goes_out(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example", "b@x.example"])
    with session_factory() as session:
        sub_id = session.scalars(select(Subscription.id).order_by(Subscription.id)).first()
    assert sub_id is not None
    # A process claimed a's digest and died before settling it.
    assert _claim(session_factory, settings, sub_id, "I-crashed", NOW, dry_run=False) is not None
    sender = MockSender()
    summary = _send(session_factory, settings, sender, NOW + timedelta(minutes=30))
    assert [m.to for m in sender.sent] == ["b@x.example"]
    assert summary.unknown == 1
    with session_factory() as session:
        crashed = session.scalars(select(Digest).where(Digest.period_key == "I-crashed")).one()
        assert crashed.status == DeliveryStatus.UNKNOWN
    assert recover_interrupted(session_factory, sender, now=NOW + timedelta(hours=1)) == 0


def test_dry_run_records_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    _seed(session_factory, ["a@x.example"])
    preview = send_due_digests(session_factory, settings, MockSender(), now=NOW, dry_run=True)
    assert len(preview.previews) == 1
    real = _send(session_factory, settings, MockSender())
    assert real.sent == 1


def test_one_entry_per_cluster_with_coverage(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        _subscribe(session, "a@x.example")
        cluster = Cluster(size=2, languages={"ru": 2})
        session.add(cluster)
        session.flush()
        _story(session, 1, "МВД откроет офис в Москве", source="herald", cluster=cluster.id)
        _story(session, 2, "МВД Таджикистана откроет офис", source="vestnik", cluster=cluster.id)
    sender = MockSender()
    summary = _send(session_factory, settings, sender)
    assert summary.sent == 1
    [message] = sender.sent
    assert message.subject == "1 new story: MVD offices"
    assert "Also reported by 1 outlet" in message.text
    with session_factory() as session:
        assert len(session.scalars(select(Delivery)).all()) == 2  # both copies promised


def test_daily_digest_due_once_per_local_day() -> None:
    sub = Subscription(frequency=Frequency.DAILY, send_hour=9, send_weekday=0)
    tz = "Asia/Dushanbe"  # UTC+5
    assert due_period(sub, tz, datetime(2026, 11, 28, 3, 59, tzinfo=UTC)) == "D2026-11-27"
    key = due_period(sub, tz, datetime(2026, 11, 28, 4, 0, tzinfo=UTC))
    assert key == "D2026-11-28"
    sub.last_digest_at = datetime(2026, 11, 28, 4, 1, tzinfo=UTC)
    assert due_period(sub, tz, datetime(2026, 11, 28, 20, 0, tzinfo=UTC)) is None
    assert due_period(sub, tz, datetime(2026, 11, 29, 4, 0, tzinfo=UTC)) == "D2026-11-29"


def test_dst_fall_back_gives_one_period_key() -> None:
    """02:30 happens twice in Berlin on 2025-10-26; both moments are the same digest period."""
    sub = Subscription(frequency=Frequency.DAILY, send_hour=2, send_weekday=0)
    first = due_period(sub, "Europe/Berlin", datetime(2025, 10, 26, 0, 30, tzinfo=UTC))
    second = due_period(sub, "Europe/Berlin", datetime(2025, 10, 26, 1, 30, tzinfo=UTC))
    assert first == second == "D2025-10-26"


def test_weekly_period_is_the_iso_week() -> None:
    sub = Subscription(frequency=Frequency.WEEKLY, send_hour=8, send_weekday=0)
    assert due_period(sub, "Europe/Moscow", datetime(2026, 11, 30, 5, 0, tzinfo=UTC)) == "W2026-49"
    assert due_period(sub, "Europe/Moscow", datetime(2026, 11, 30, 4, 59, tzinfo=UTC)) == "W2026-48"
