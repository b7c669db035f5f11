"""Digests: due periods in local time, each story to each subscriber at most once, and what
a digest says (clusters, highlights, updates, order, size)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from alerts import ledger
from alerts.digest import DigestRunSummary, _claim, send_due_digests
from alerts.ledger import ResendRefusedError, recover_interrupted, release_for_resend
from alerts.schedule import due_period
from alerts.senders import MockSender, OutboxSender, OutgoingMessage, SendResult
from alerts.senders.mime import wire_size
from core import limits
from core.errors import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
    UncertainDeliveryError,
)
from core.settings import Settings
from db import queries
from db.models import (
    Cluster,
    CrawlRun,
    CrawlStatus,
    Delivery,
    DeliveryStatus,
    Digest,
    Frequency,
    Story,
    Subscription,
    UpdateDelivery,
)
from db.session import unit_of_work
from tests.factories import revision_of
from tests.test_digest_fixtures import NOW, TOKENS, match, seed, story, subscribe


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        send_max_attempts=2,
        send_backoff_max_seconds=0,
        base_url="https://ww.example",
    )


def _send(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: MockSender | OutboxSender,
    now: datetime = NOW,
) -> DigestRunSummary:
    return send_due_digests(factory, settings, sender, now=now, sleep=lambda _: None, tokens=TOKENS)


def _sub_id(factory: sessionmaker[Session], email: str) -> int:
    with factory() as session:
        return queries.subscriptions_of(session=session, email=email)[0].id


# -- exactly once -----------------------------------------------------------------------------


def test_each_story_reaches_each_subscriber_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example", "b@x.example"])
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
        story(session, 7, "МВД: новый офис")
    match(session_factory, NOW + timedelta(minutes=8))
    third = _send(session_factory, settings, sender, NOW + timedelta(minutes=10))
    assert third.sent == 2
    assert all(m.subject.startswith("1 new story:") for m in sender.sent[2:])


def test_temporary_failure_defers_and_the_next_run_sends(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example"])

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
    seed(session_factory, ["a@x.example"])

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
        problem = queries.last_failed_digest(
            session=session, subscription_id=digest.subscription_id
        )
        assert problem is not None and problem.id == digest.id


def test_auth_error_stops_the_run_and_loses_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example", "b@x.example"])

    def revoked(_: OutgoingMessage) -> SendResult:
        raise TransportAuthError("401: the API key was revoked")

    sender = MockSender(revoked)
    summary = _send(session_factory, settings, sender)
    assert len(sender.offered) == 1  # stopped at the first refusal
    assert summary.transport_refused and any("credentials" in e for e in summary.errors)
    later = _send(session_factory, settings, MockSender(), NOW + timedelta(minutes=1))
    assert later.sent == 2


def test_a_lost_answer_is_unknown_and_never_resent_blindly(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example"])

    def lost(_: OutgoingMessage) -> SendResult:
        raise UncertainDeliveryError("timed out reading the answer")

    sender = MockSender(lost)
    summary = _send(session_factory, settings, sender)
    assert summary.unknown == 1 and len(sender.offered) == 1  # no retry
    again = MockSender()
    assert _send(session_factory, settings, again, NOW + timedelta(hours=1)).sent == 0
    with session_factory() as session:
        digest = session.scalars(select(Digest)).one()
        assert digest.status == DeliveryStatus.UNKNOWN
    # The operator decides to send it again: the same stories go out once more, once.
    release_for_resend(session_factory, digest.id)
    with pytest.raises(ResendRefusedError):
        release_for_resend(session_factory, digest.id)
    resent = _send(session_factory, settings, again, NOW + timedelta(hours=2))
    assert resent.sent == 1 and resent.stories == 2


def test_a_second_scheduler_cannot_claim_the_same_period(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", Frequency.DAILY)
        story(session, 1, "МВД открывает офис")
    match(session_factory)
    sub_id = _sub_id(session_factory, "a@x.example")
    first = _claim(session_factory, settings, sub_id, "D2026-11-28", NOW, False, tokens=TOKENS)
    second = _claim(session_factory, settings, sub_id, "D2026-11-28", NOW, False, tokens=TOKENS)
    assert first is not None
    assert second is None


def test_a_released_digest_gives_its_period_back(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", Frequency.DAILY)
        story(session, 1, "МВД открывает офис")
    match(session_factory)
    sub_id = _sub_id(session_factory, "a@x.example")
    period = "D2026-11-28"
    first = _claim(session_factory, settings, sub_id, period, NOW, False, tokens=TOKENS)
    assert first is not None
    ledger.release(session_factory, first.digest_id, "503 from provider")
    again = _claim(session_factory, settings, sub_id, period, NOW, False, tokens=TOKENS)
    assert again is not None and again.digest_id != first.digest_id and again.stories == 1
    with unit_of_work(session_factory) as session:
        story(session, 2, "МВД: второй офис")
    match(session_factory)
    # The live digest still holds the period: a second one is refused.
    assert _claim(session_factory, settings, sub_id, period, NOW, False, tokens=TOKENS) is None
    with session_factory() as session:
        rows = session.execute(
            select(Digest.id, Digest.period_key, Digest.released_at.is_not(None)).order_by(
                Digest.id
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (first.digest_id, period, True),
        (again.digest_id, period, False),
    ]
    with pytest.raises(ResendRefusedError, match="already released"):
        release_for_resend(session_factory, first.digest_id)


def test_interrupted_send_is_not_repeated_and_the_rest_goes_out(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example", "b@x.example"])
    sub_id = _sub_id(session_factory, "a@x.example")
    # A process claimed a's digest and died before settling it.
    claimed = _claim(session_factory, settings, sub_id, "I-crashed", NOW, False, tokens=TOKENS)
    assert claimed is not None
    sender = MockSender()
    summary = _send(session_factory, settings, sender, NOW + timedelta(minutes=30))
    assert [m.to for m in sender.sent] == ["b@x.example"]
    assert summary.unknown == 1
    with session_factory() as session:
        crashed = session.get(Digest, claimed.digest_id)
        assert crashed is not None and crashed.status == DeliveryStatus.UNKNOWN
    assert recover_interrupted(session_factory, sender, now=NOW + timedelta(hours=1)) == 0


def test_the_outbox_proves_what_a_crashed_run_wrote(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    seed(session_factory, ["a@x.example", "b@x.example"])
    outbox = OutboxSender(tmp_path / "outbox")
    written = _claim(
        session_factory,
        settings,
        _sub_id(session_factory, "a@x.example"),
        "I-1",
        NOW,
        False,
        tokens=TOKENS,
    )
    lost = _claim(
        session_factory,
        settings,
        _sub_id(session_factory, "b@x.example"),
        "I-2",
        NOW,
        False,
        tokens=TOKENS,
    )
    assert written is not None and lost is not None
    outbox.send(written.message)  # the process wrote a's file, then was killed
    assert recover_interrupted(session_factory, outbox, now=NOW + timedelta(hours=1)) == 1
    with session_factory() as session:
        assert session.get(Digest, written.digest_id).status == DeliveryStatus.SENT  # type: ignore[union-attr]
        assert session.get(Digest, lost.digest_id).status == DeliveryStatus.UNKNOWN  # type: ignore[union-attr]


def test_dry_run_records_nothing(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example"])
    preview = send_due_digests(
        session_factory, settings, MockSender(), now=NOW, dry_run=True, tokens=TOKENS
    )
    assert len(preview.previews) == 1
    real = _send(session_factory, settings, MockSender())
    assert real.sent == 1


def test_nothing_is_sent_to_the_unconfirmed_the_unsubscribed_or_the_suppressed(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        for email in ("pending@x.example", "gone@x.example", "bounced@x.example", "ok@x.example"):
            subscribe(session, email)
        queries.subscriptions_of(session=session, email="pending@x.example")[0].confirmed = False
        queries.subscriptions_of(session=session, email="gone@x.example")[0].active = False
        queries.suppress_address(
            session=session, email="bounced@x.example", reason="bounce", when=NOW
        )
        story(session, 1, "МВД открывает офис")
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    assert [m.to for m in sender.sent] == ["ok@x.example"]


# -- schedules and batching ---------------------------------------------------------------------


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


def test_daily_subscribers_in_dushanbe_and_moscow_get_mail_at_their_own_hour(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    start = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    with unit_of_work(session_factory) as session:
        subscribe(
            session,
            "dushanbe@x.example",
            Frequency.DAILY,
            timezone="Asia/Dushanbe",
            hour=9,
            confirmed_at=start - timedelta(hours=12),
        )
        subscribe(
            session,
            "moscow@x.example",
            Frequency.DAILY,
            timezone="Europe/Moscow",
            hour=9,
            confirmed_at=start - timedelta(hours=12),
        )
        for sub in queries.list_subscriptions(session=session):
            sub.last_digest_at = start  # yesterday's digests are done
        story(session, 1, "МВД открывает офис", published=start)
    match(session_factory, start)
    sender = MockSender()
    arrivals: dict[str, datetime] = {}
    for minutes in range(0, 12 * 60, 30):
        moment = start + timedelta(minutes=minutes)
        before = len(sender.sent)
        _send(session_factory, settings, sender, moment)
        for message in sender.sent[before:]:
            arrivals[message.to] = moment
    assert arrivals == {
        "dushanbe@x.example": datetime(2026, 11, 28, 4, 0, tzinfo=UTC),  # 09:00 UTC+5
        "moscow@x.example": datetime(2026, 11, 28, 6, 0, tzinfo=UTC),  # 09:00 UTC+3
    }
    assert "UTC" not in sender.sent[0].text.split("\n\n")[1]  # times shown in local time


def test_instant_digests_wait_for_the_crawl_in_progress_but_not_forever(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    seed(session_factory, ["a@x.example"])  # matched at NOW - 30 min
    with unit_of_work(session_factory) as session:
        run = queries.create_crawl_run(session=session, source_id=None, trigger="test")
        run.started_at = NOW - timedelta(minutes=31)  # owned by this (live) process
    sender = MockSender()
    quick = settings.model_copy(update={"instant_batch_minutes": 45.0})
    held = _send(session_factory, quick, sender, NOW)
    assert held.held == 1 and held.sent == 0
    # The bound: 45 minutes after the first story matched it leaves even mid-crawl.
    late = _send(session_factory, quick, sender, NOW + timedelta(minutes=16))
    assert late.sent == 1 and late.stories == 2
    with unit_of_work(session_factory) as session:
        story(session, 9, "МВД: ещё один офис")
    match(session_factory, NOW + timedelta(minutes=20))
    assert _send(session_factory, quick, sender, NOW + timedelta(minutes=21)).held == 1
    with unit_of_work(session_factory) as session:
        for run in session.scalars(select(CrawlRun)):
            run.status = CrawlStatus.SUCCEEDED
    done = _send(session_factory, quick, sender, NOW + timedelta(minutes=22))
    assert done.sent == 1 and done.stories == 1  # crawl over: sent at once


# -- what a digest says ---------------------------------------------------------------------------


def test_one_entry_per_cluster_with_coverage(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        cluster = Cluster(size=3, languages={"ru": 2, "en": 1})
        session.add(cluster)
        session.flush()
        story(session, 1, "МВД откроет офис в Москве", source="herald", cluster=cluster.id)
        story(session, 2, "МВД Таджикистана откроет офис", source="vestnik", cluster=cluster.id)
        story(
            session,
            3,
            "MVD to open an office in Moscow",
            source="wire",
            language="en",
            body="Tajikistan's MVD will open a representation office.",
            cluster=cluster.id,
        )
    match(session_factory)
    sender = MockSender()
    summary = _send(session_factory, settings, sender)
    assert summary.sent == 1
    [message] = sender.sent
    assert message.subject == "1 new story: MVD offices"
    assert "Also reported by 2 outlets (ru 2)" in message.text  # the earliest (English) leads
    assert message.html.count('class="entry"') == 1
    with session_factory() as session:
        assert len(session.scalars(select(Delivery)).all()) == 3  # every copy promised


def test_entry_shows_outlet_language_local_time_highlights_and_why(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", timezone="Asia/Dushanbe")
        story(
            session,
            1,
            "Открыто представительство МВД",
            body="В Москве открылось представительство. Представительства МВД работают давно.",
            published=datetime(2026, 11, 28, 6, 5, tzinfo=UTC),
        )
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    [message] = sender.sent
    assert "herald · Russian · 28 Nov 2026, 11:05 +05" in message.text  # Dushanbe local time
    assert "Why it matched: " in message.text and "МВД" in message.text
    # Matched words are highlighted, inflected forms included; text uses *asterisks*.
    assert '<mark style="' in message.html and ">Представительства</mark>" in message.html
    assert "*представительство*" in message.text and "*Представительства*" in message.text


def test_hostile_titles_are_escaped_and_unsafe_links_dropped(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        story_id = story(session, 1, 'МВД <script>alert("x")</script> & <b>co</b>')
        row = session.get(Story, story_id)
        assert row is not None
        row.canonical_url = row.url = "javascript:alert(1)"
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    [message] = sender.sent
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<b>co</b>" not in message.html
    assert "javascript:" not in message.html
    assert '<script>alert("x")</script>' in message.text  # plain text stays as written


def test_order_newest_or_most_covered_first(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "newest@x.example", ordering="newest")
        subscribe(session, "covered@x.example", ordering="coverage")
        cluster = Cluster(size=3, languages={"ru": 3})
        session.add(cluster)
        session.flush()
        story(session, 1, "МВД: свежая новость", published=NOW - timedelta(minutes=5))
        story(
            session,
            2,
            "МВД: широко освещённая",
            published=NOW - timedelta(hours=5),
            cluster=cluster.id,
        )
        story(
            session,
            3,
            "МВД: широко освещённая (копия)",
            source="vestnik",
            published=NOW - timedelta(hours=4),
            cluster=cluster.id,
        )
        story(
            session,
            4,
            "МВД: широко освещённая (ещё копия)",
            source="wire",
            published=NOW - timedelta(hours=4),
            cluster=cluster.id,
        )
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    by_to = {m.to: m.text for m in sender.sent}
    newest, covered = by_to["newest@x.example"], by_to["covered@x.example"]
    assert newest.index("свежая") < newest.index("широко освещённая")
    assert covered.index("широко освещённая") < covered.index("свежая")


def test_a_story_on_two_topics_of_one_subscriber_arrives_once(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", slug="mvd")
        subscribe(session, "a@x.example", slug="offices", frequency=Frequency.INSTANT)
        queries.upsert_topic(session=session, slug="offices", name="Offices", query="офис")
        story(session, 1, "МВД открывает офис")
        story(session, 2, "Новый офис в Душанбе", body="Офис открыт.")
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    texts = "\n".join(m.text for m in sender.sent)
    assert texts.count("МВД открывает офис") == 1
    assert texts.count("Новый офис в Душанбе") == 1
    assert {m.subject.split(": ")[1] for m in sender.sent} == {"MVD offices", "Offices"}


def test_a_flood_is_split_into_as_many_messages_as_it_takes(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    capped = settings.model_copy(update={"digest_max_items": 20})
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        for n in range(30):
            story(session, n, f"МВД: новость {n}")
    match(session_factory)
    sender = MockSender()
    first = _send(session_factory, capped, sender)
    assert first.sent == 2 and first.stories == 30
    assert "10 more matching stories follow in a separate message" in sender.sent[0].text
    assert "more matching" not in sender.sent[1].text
    second = _send(session_factory, capped, sender, NOW + timedelta(minutes=1))
    assert second.sent == 0 and len(sender.sent) == 2
    with session_factory() as session:
        delivered = session.scalars(select(Delivery.story_id)).all()
    assert len(delivered) == len(set(delivered)) == 30


@pytest.mark.parametrize("frequency", list(Frequency))
def test_every_story_of_a_large_batch_arrives_and_later_ones_too(
    session_factory: sessionmaker[Session], settings: Settings, frequency: Frequency
) -> None:
    """A batch larger than a digest holds, oldest stories stored first (lowest ids), sent
    newest first: the stories left over must not block the subscription."""
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", frequency)
        for n in range(62):
            story(session, n, f"МВД: сообщение {n}", published=NOW - timedelta(minutes=90 - n))
    match(session_factory)
    sender = MockSender()
    first = _send(session_factory, settings, sender)
    assert settings.digest_max_items == 50
    assert (first.sent, first.stories, first.failed) == (2, 62, 0)
    with unit_of_work(session_factory) as session:
        story(session, 100, "МВД: ещё одно сообщение", published=NOW + timedelta(minutes=30))
    match(session_factory, NOW + timedelta(minutes=31))
    later = NOW + timedelta(days=8)  # due again whatever the frequency
    second = _send(session_factory, settings, sender, later)
    assert (second.sent, second.stories) == (1, 1)
    with session_factory() as session:
        delivered = session.scalars(select(Delivery.story_id)).all()
        stories = session.scalars(select(Story.id)).all()
    assert sorted(delivered) == sorted(stories) and len(delivered) == 63
    texts = "\n".join(message.text for message in sender.sent)
    assert all(texts.count(f"МВД: сообщение {n}\n") == 1 for n in range(62))


@pytest.mark.parametrize("frequency", [Frequency.DAILY, Frequency.INSTANT])
def test_messages_stay_under_the_byte_cap_and_carry_every_story_once(
    session_factory: sessionmaker[Session], settings: Settings, frequency: Frequency
) -> None:
    """Long titles (at the stored limit, and one stored before limits existed) fill
    messages by size before they fill them by count: more parts, none over the cap."""
    capped = settings.model_copy(update={"digest_max_bytes": 100_000})
    long_title = "МВД сообщает: " + "очень длинный заголовок " * 60
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", frequency)
        for n in range(40):
            story(session, n, f"{n} {long_title}"[: limits.TITLE_CHARS])
        story(session, 99, "МВД " + "огромный " * 5_000)  # a title stored before limits
    match(session_factory)
    sender = MockSender()
    summary = _send(session_factory, capped, sender, NOW + timedelta(days=1))
    sizes = [wire_size(message) for message in sender.sent]
    assert summary.sent == len(sender.sent) >= 3, sizes
    assert max(sizes) <= 100_000, sizes
    assert summary.stories == 41
    with session_factory() as session:
        delivered = session.scalars(select(Delivery.story_id)).all()
    assert len(delivered) == len(set(delivered)) == 41
    assert "more matching stories follow" in sender.sent[0].text
    again = _send(session_factory, capped, sender, NOW + timedelta(days=2, minutes=1))
    assert again.sent == 0


def test_a_continuation_that_cannot_go_out_waits_for_the_next_run(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    capped = settings.model_copy(update={"digest_max_items": 10})
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        for n in range(25):
            story(session, n, f"МВД: весть {n}", published=NOW - timedelta(minutes=60 - n))
    match(session_factory)
    offers = 0

    def second_part_down(_: OutgoingMessage) -> SendResult | None:
        nonlocal offers
        offers += 1
        if offers > 1:
            raise TemporaryDeliveryError("503 from provider", retry_after=0)
        return None

    first = _send(session_factory, capped, MockSender(second_part_down))
    assert (first.sent, first.deferred) == (1, 1)
    second = _send(session_factory, capped, MockSender(), NOW + timedelta(minutes=1))
    assert (second.sent, second.stories) == (2, 15)


def test_nothing_new_sends_nothing_and_keeps_the_watermark(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example", Frequency.DAILY)
    sender = MockSender()
    summary = _send(session_factory, settings, sender)
    assert summary.sent == 0 and not sender.offered
    with session_factory() as session:
        sub = session.scalars(select(Subscription)).one()
        assert sub.last_sent_through is None and sub.last_digest_at == NOW


# -- updates --------------------------------------------------------------------------------------


def _revise(factory: sessionmaker[Session], story_id: int, title: str, body: str) -> None:
    with unit_of_work(factory) as session:
        row = session.get(Story, story_id)
        assert row is not None
        record = revision_of(row, title=title, body=body, fetched_at=NOW)
        queries.record_new_version(session=session, story=row, record=record, when=NOW)


def test_a_changed_story_is_marked_updated_once_for_those_who_want_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "wants@x.example", include_updates=True)
        subscribe(session, "skips@x.example", include_updates=False)
        story_id = story(session, 1, "МВД откроет офис")
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    assert len(sender.sent) == 2
    _revise(session_factory, story_id, "МВД открыло офис в Москве", "Офис МВД открыт сегодня.")
    later = _send(session_factory, settings, sender, NOW + timedelta(minutes=10))
    assert later.sent == 1 and later.updates == 1
    update = sender.sent[2]
    assert update.to == "wants@x.example"
    assert update.subject == "1 updated story: MVD offices"
    assert "[UPDATED] МВД открыло офис в Москве" in update.text
    assert "Previously: МВД откроет офис" in update.text
    assert 'class="updated"' in update.html
    assert _send(session_factory, settings, sender, NOW + timedelta(minutes=20)).sent == 0
    with session_factory() as session:
        rows = session.scalars(select(UpdateDelivery)).all()
        assert [(r.story_version, r.status) for r in rows] == [(2, DeliveryStatus.SENT)]


def test_coverage_is_read_once_per_digest_for_new_and_updated_entries(
    session_factory: sessionmaker[Session], settings: Settings, engine: Engine
) -> None:
    """ "Also reported by" of every entry of a message comes from one statement, not one each."""

    def reported_twice(session: Session, n: int) -> int:
        cluster = Cluster(size=2, languages={"ru": 2})
        session.add(cluster)
        session.flush()
        story(session, 10 * n + 1, f"МВД: событие {n}", source="vestnik", cluster=cluster.id)
        return story(session, 10 * n, f"МВД: событие {n}", cluster=cluster.id)

    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        first = reported_twice(session, 0)
    sender = MockSender()
    _send(session_factory, settings, sender)
    _revise(session_factory, first, "МВД: событие 0 уточнено", "Офис МВД открыт сегодня.")
    with unit_of_work(session_factory) as session:
        reported_twice(session, 1)
        reported_twice(session, 2)
        story(session, 30, "МВД: событие 3")  # in no cluster: needs no coverage
    match(session_factory, NOW + timedelta(minutes=5))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        summary = _send(session_factory, settings, sender, NOW + timedelta(minutes=10))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (summary.sent, summary.stories, summary.updates) == (1, 5, 1)
    text = sender.sent[-1].text
    assert "[UPDATED]" in text and text.count("Also reported by 1 outlet (ru 1)") == 3
    coverage = [s for s in statements if re.search(r"WHERE stories\.cluster_id (=|IN)", s)]
    assert len(coverage) == 1, coverage
    assert len([s for s in statements if re.search(r"\bFROM sources\b", s)]) <= 1
