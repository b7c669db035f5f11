"""A digest through each real transport: a local SMTP server and the SendGrid v3 stand-in.

The digest code is the same whatever the transport; these tests check what
arrives on the other side: headers, both parts, the unsubscribe link, and
that a 429 from SendGrid is retried while nothing is sent twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.matching import match_pending
from alerts.senders import make_sender
from db import queries
from db.models import Frequency
from db.session import unit_of_work
from tests.servers.sendgrid_stub import DEFAULT_API_KEY, SendGridStub
from tests.servers.smtp import SmtpTestServer
from wirewatch.settings import Settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLE = "МВД Таджикистана откроет представительство в Москве"


def _seed(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://herald.example/rss"
        )
        queries.insert_story_if_new(
            session=session,
            record=queries.StoryRecord(
                url_key="a" * 64,
                canonical_url="https://herald.example/1",
                url="https://herald.example/1",
                canonicalizer_version=1,
                guid=None,
                source_id=source.id,
                title=TITLE,
                body="Представительство получит дипломатический статус.",
                summary="",
                authors=[],
                language="ru",
                published_at=NOW - timedelta(hours=1),
                published_estimated=False,
                fetched_at=NOW - timedelta(hours=1),
                fingerprint="b" * 64,
                extraction_method="feed",
            ),
        )
        topic, _ = queries.upsert_topic(
            session=session, slug="mvd", name="MVD offices", query="МВД"
        )
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token="tok-1",
            confirmed=True,
        )
        queries.subscriptions_of(session=session, email="desk@newsroom.example")[
            0
        ].confirmed_at = NOW
    with unit_of_work(factory) as session:
        match_pending(session)


def test_digest_over_smtp(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        smtp_url=smtp_server.url,
        base_url="https://ww.example",
    )
    assert settings.effective_mail_transport == "smtp"
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["desk@newsroom.example"]
    message = received.message
    assert message["Subject"] == "1 new story: MVD offices"
    assert message["List-Unsubscribe"].startswith("<https://ww.example/u/tok-1>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and TITLE in text.get_content()
    assert html is not None and 'href="https://herald.example/1"' in html.get_content()
    again = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(minutes=1)
    )
    assert again.sent == 0 and len(smtp_server.messages) == 1


def test_digest_through_sendgrid_with_a_429_first(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sendgrid_api_key=DEFAULT_API_KEY,  # type: ignore[arg-type]
        sendgrid_host=sendgrid_stub.url,
        send_backoff_max_seconds=2,
    )
    sendgrid_stub.fail_next(429, headers={"Retry-After": "1"})
    waits: list[float] = []
    summary = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW, sleep=waits.append
    )
    assert summary.sent == 1, summary.errors
    assert waits == [1.0]
    [body] = sendgrid_stub.accepted
    personalization = body["personalizations"][0]
    assert personalization["to"] == [{"email": "desk@newsroom.example"}]
    assert personalization["custom_args"]["digest_id"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert TITLE in body["content"][0]["value"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    again = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(minutes=1)
    )
    assert again.sent == 0 and len(sendgrid_stub.accepted) == 1


def test_sendgrid_400_fails_once_and_is_recorded(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sendgrid_api_key=DEFAULT_API_KEY,  # type: ignore[arg-type]
        sendgrid_host=sendgrid_stub.url,
    )
    sendgrid_stub.fail_next(400)
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.failed == 1 and len(sendgrid_stub.requests) == 1
    assert summary.errors
