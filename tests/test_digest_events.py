"""Digests list each event once: its reports in other outlets and languages are named with
links, a later report of an event already sent is not news, and a development is an update."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.senders import MockSender
from core.settings import Settings
from crawler.events.index import EventIndex
from db import events
from db.models import Delivery, DeliveryStatus, Story
from db.session import unit_of_work
from tests.test_digest_fixtures import NOW, TOKENS, match, story, subscribe

RU_TITLE = "МВД Таджикистана открыло представительство в Москве"
RU_BODY = "Представительство МВД Таджикистана открыто в Москве. Офис поможет мигрантам."
EN_TITLE = "Tajik MVD opens representative office in Moscow"
EN_BODY = "Tajikistan's interior ministry (MVD) opened a representative office in Moscow."
TG_TITLE = "Намояндагии ВКД дар Маскав кушода шуд"
TG_BODY = "Намояндагии ВКД Тоҷикистон (МВД) дар Маскав кушода шуд. Представительство МВД."


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        send_max_attempts=1,
        send_backoff_max_seconds=0,
        base_url="https://ww.example",
    )


def _report(session: Session, n: int, title: str, body: str, source: str, language: str) -> Story:
    story_id = story(
        session, n, title, body=body, source=source, language=language,
        published=NOW - timedelta(hours=1, minutes=n),
    )  # fmt: skip
    row = session.get(Story, story_id)
    assert row is not None
    return row


def _into_one_event(session: Session, stories: list[Story]) -> int:
    """Give each story a real signature and put them all in one event, as placement would."""
    index = EventIndex()
    first, *rest = stories
    for row in stories:
        signature = index.signature(row)
        events.save_signature(
            session=session, story_id=row.id, data=_json(signature), keys=[], at=NOW
        )
    event = events.start_event(session=session, story=first, at=NOW - timedelta(hours=2))
    for row in rest:
        events.join_event(session=session, event=event, story=row, at=NOW - timedelta(hours=1))
    return event.id


def _json(signature: object) -> dict[str, object]:
    from crawler.events.codec import to_json

    return to_json(signature)  # type: ignore[arg-type]


def _send(factory: sessionmaker[Session], settings: Settings, sender: MockSender, minutes: int = 0):  # type: ignore[no-untyped-def]
    return send_due_digests(
        factory, settings, sender, now=NOW + timedelta(minutes=minutes),
        sleep=lambda _: None, tokens=TOKENS,
    )  # fmt: skip


def test_an_event_in_three_languages_is_one_entry_with_links(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        reports = [
            _report(session, 1, RU_TITLE, RU_BODY, "ria", "ru"),
            _report(session, 2, EN_TITLE, EN_BODY, "rferl", "en"),
            _report(session, 3, TG_TITLE, TG_BODY, "khovar", "tg"),
        ]
        _into_one_event(session, reports)
    match(session_factory)
    sender = MockSender()
    summary = _send(session_factory, settings, sender)
    assert (summary.sent, summary.stories) == (1, 3)
    text = sender.sent[0].text
    assert sender.sent[0].subject.startswith("1 new story:")
    # The fullest report leads; the other two outlets are named, each with its link.
    assert text.startswith("MVD offices — 1 new story") and f"1. {EN_TITLE}" in text
    assert "Also reported by 2 outlets (ru 1, tg 1)" in text
    assert "https://ria.example/1" in text and "https://khovar.example/3" in text
    assert 'href="https://khovar.example/3"' in sender.sent[0].html


def test_a_later_report_of_an_event_already_sent_is_not_news(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        first = _report(session, 1, RU_TITLE, RU_BODY, "ria", "ru")
        event_id = _into_one_event(session, [first])
    match(session_factory)
    sender = MockSender()
    assert _send(session_factory, settings, sender).sent == 1
    with unit_of_work(session_factory) as session:
        late = _report(session, 2, EN_TITLE, EN_BODY, "rferl", "en")
        signature = EventIndex().signature(late)
        events.save_signature(
            session=session, story_id=late.id, data=_json(signature), keys=[], at=NOW
        )
        event = events.events_by_id(session=session, ids=[event_id])[event_id]
        events.join_event(session=session, event=event, story=late, at=NOW)
        late_id = late.id
    match(session_factory, NOW + timedelta(minutes=5))
    again = _send(session_factory, settings, sender, minutes=10)
    assert again.sent == 0 and len(sender.sent) == 1
    with session_factory() as session:
        covered = session.scalars(select(Delivery).where(Delivery.story_id == late_id)).one()
        carried = session.scalars(select(Delivery).where(Delivery.story_id == first.id)).one()
    assert covered.digest_id == carried.digest_id and covered.status == DeliveryStatus.SENT
    assert _send(session_factory, settings, sender, minutes=20).sent == 0


def test_a_report_of_a_new_act_in_a_sent_event_is_an_update(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        talks = _report(
            session, 1, "МВД Таджикистана и России обсудили представительство",
            "Министры обсудили представительство МВД в Москве.", "ria", "ru",
        )  # fmt: skip
        event_id = _into_one_event(session, [talks])
    match(session_factory)
    sender = MockSender()
    _send(session_factory, settings, sender)
    with unit_of_work(session_factory) as session:
        signed = _report(
            session, 2, "МВД подписало соглашение о представительстве",
            "Соглашение о представительстве МВД в Москве подписано.", "tass", "ru",
        )  # fmt: skip
        signature = EventIndex().signature(signed)
        events.save_signature(
            session=session, story_id=signed.id, data=_json(signature), keys=[], at=NOW
        )
        event = events.events_by_id(session=session, ids=[event_id])[event_id]
        events.join_event(session=session, event=event, story=signed, at=NOW)
    match(session_factory, NOW + timedelta(minutes=5))
    update = _send(session_factory, settings, sender, minutes=10)
    assert update.sent == 1
    assert "[UPDATE] МВД подписало соглашение" in sender.sent[1].text
    assert "Follows: МВД Таджикистана и России обсудили представительство" in sender.sent[1].text


def test_an_event_that_develops_one_already_sent_is_an_update_to_it(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        first = _report(session, 1, RU_TITLE, RU_BODY, "ria", "ru")
        earlier = _into_one_event(session, [first])
    match(session_factory)
    sender = MockSender()
    assert _send(session_factory, settings, sender).sent == 1
    with unit_of_work(session_factory) as session:
        branch = _report(
            session, 2, "В Петербурге открылся филиал представительства МВД Таджикистана",
            "Филиал представительства МВД Таджикистана открылся в Петербурге.", "tass", "ru",
        )  # fmt: skip
        later = _into_one_event(session, [branch])
        events.set_follows(session=session, event_id=later, follows=earlier)
    match(session_factory, NOW + timedelta(minutes=5))
    update = _send(session_factory, settings, sender, minutes=10)
    assert update.sent == 1
    text, page = sender.sent[1].text, sender.sent[1].html
    assert "[UPDATE] В Петербурге открылся филиал" in text
    assert f"Update to: {RU_TITLE}" in text
    assert f"Update to: {RU_TITLE}" in page and 'class="update-to"' in page


def test_an_event_following_one_never_sent_is_plain_news(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        first = _report(session, 1, RU_TITLE, RU_BODY, "ria", "ru")
        earlier = _into_one_event(session, [first])
        branch = _report(
            session, 2, "В Петербурге открылся филиал представительства МВД Таджикистана",
            "Филиал представительства МВД Таджикистана открылся в Петербурге.", "tass", "ru",
        )  # fmt: skip
        later = _into_one_event(session, [branch])
        events.set_follows(session=session, event_id=later, follows=earlier)
    match(session_factory)
    sender = MockSender()
    # Both events come in one digest: the earlier one was not sent before, so the later
    # one is news of its own.
    assert _send(session_factory, settings, sender).sent == 1
    assert "Update to:" not in sender.sent[0].text and "[UPDATE]" not in sender.sent[0].text
