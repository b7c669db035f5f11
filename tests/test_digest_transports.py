"""A digest through each real transport: a local SMTP server and the SendGrid v3 stand-in.

The digest code is the same whatever the transport; these tests check what
arrives on the other side (headers, both parts, links), follow the
unsubscribe link back into the web app, and check SendGrid's retry policy
end to end: 429 and 5xx are retried as the API asks, a 400 is recorded with
the API's own words and not retried, and a lost answer is never resent.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.matching import match_pending
from alerts.senders import make_sender
from core.settings import Settings
from db import queries
from db.models import DeliveryStatus, Digest, Frequency, Subscription
from db.session import unit_of_work
from tests.factories import story_record
from tests.servers.sendgrid_stub import DEFAULT_API_KEY, SendGridStub
from tests.servers.smtp import SmtpTestServer
from tests.test_senders_sendgrid import _is_loopback, network_calls
from web.app import create_app

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TITLE = "МВД Таджикистана откроет представительство в Москве"


def _seed(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://herald.example/rss"
        )
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                1,
                "https://herald.example/1",
                source_id=source.id,
                title=TITLE,
                body="Представительство получит дипломатический статус.",
                language="ru",
                published_at=NOW - timedelta(hours=1),
                fetched_at=NOW - timedelta(hours=1),
            ),
        )
        topic, _ = queries.upsert_topic(
            session=session, slug="mvd", name="MVD offices", query="МВД"
        )
        sub, _ = queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token="tok-1",
            confirmed=True,
            timezone="Europe/Moscow",
        )
        sub.confirmed_at = NOW
    with unit_of_work(factory) as session:
        match_pending(session)


def _sendgrid_settings(tmp_path: Path, database_url: str, stub: SendGridStub) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sendgrid_api_key=DEFAULT_API_KEY,  # type: ignore[arg-type]
        sendgrid_host=stub.url,
        send_backoff_max_seconds=2,
        base_url="https://ww.example",
    )


def _digest(factory: sessionmaker[Session]) -> Digest:
    with factory() as session:
        return session.scalars(select(Digest)).one()


def test_digest_over_smtp_and_the_unsubscribe_link_works(
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
    assert message.get_content_type() == "multipart/alternative"
    https_link, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert https_link.startswith("https://ww.example/u/tok-1.")  # the secret, signed
    assert mailto.startswith("mailto:unsubscribe@wirewatch.localhost?subject=unsubscribe")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-Wirewatch-digest_id"] == str(_digest(session_factory).id)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert TITLE in text.get_content()
    assert "MSK" in text.get_content()  # the subscriber's local time (Moscow)
    html_body = html.get_content()
    assert 'href="https://herald.example/1"' in html_body
    assert f'href="{https_link}"' in html_body
    assert "<img" not in html_body and "<script" not in html_body
    assert re.search(r'href="https://ww\.example/preferences/[^"]+"', html_body)

    # The mail client's one-click unsubscribe, then a run that sends nothing to them.
    path = https_link.removeprefix("https://ww.example")
    with TestClient(create_app(settings)) as client:
        assert client.get(path).status_code == 200
        assert _active(session_factory)  # GET changed nothing
        done = client.post(
            path,
            content="List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200 and not client.cookies
    assert not _active(session_factory)
    with unit_of_work(session_factory) as session:
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                2,
                "https://herald.example/2",
                title="МВД: второй офис",
                body="МВД",
                language="ru",
                published_at=NOW,
                fetched_at=NOW,
            ),
        )
    again = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(minutes=5)
    )
    assert again.sent == 0 and len(smtp_server.messages) == 1


def _active(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return session.scalars(select(Subscription.active)).one()


def test_digest_through_sendgrid_with_a_429_first(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = _sendgrid_settings(tmp_path, database_url, sendgrid_stub)
    sendgrid_stub.fail_next(429, headers={"Retry-After": "1"})
    waits: list[float] = []
    with network_calls() as calls:
        summary = send_due_digests(
            session_factory, settings, make_sender(settings), now=NOW, sleep=waits.append
        )
    assert summary.sent == 1, summary.errors
    assert waits == [1.0]
    assert [call for call in calls if not _is_loopback(call[1])] == []  # only the stand-in
    [body] = sendgrid_stub.accepted
    personalization = body["personalizations"][0]
    assert personalization["to"] == [{"email": "desk@newsroom.example"}]
    assert personalization["custom_args"]["digest_id"] == str(_digest(session_factory).id)
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert TITLE in body["content"][0]["value"]
    assert body["subject"] == "1 new story: MVD offices"
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["headers"]["List-Unsubscribe"].startswith("<https://ww.example/u/tok-1.")
    assert _digest(session_factory).message_id == sendgrid_stub.message_ids[0]
    again = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(minutes=1)
    )
    assert again.sent == 0 and len(sendgrid_stub.accepted) == 1


def test_sendgrid_server_errors_are_retried_with_backoff(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = _sendgrid_settings(tmp_path, database_url, sendgrid_stub)
    sendgrid_stub.fail_next(500, times=2)
    waits: list[float] = []
    summary = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW, sleep=waits.append
    )
    assert summary.sent == 1 and len(sendgrid_stub.requests) == 3
    assert len(waits) == 2 and all(0 < w <= 2 for w in waits)


def test_sendgrid_rate_limit_beyond_patience_defers_to_the_next_run(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = _sendgrid_settings(tmp_path, database_url, sendgrid_stub)
    sendgrid_stub.fail_next(429, headers={"Retry-After": "3600"})
    first = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW, sleep=lambda _: None
    )
    assert first.deferred == 1 and len(sendgrid_stub.requests) == 1
    later = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(hours=1)
    )
    assert later.sent == 1 and len(sendgrid_stub.accepted) == 1


def test_sendgrid_400_fails_once_with_the_apis_explanation(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory)
    settings = _sendgrid_settings(tmp_path, database_url, sendgrid_stub)
    sendgrid_stub.fail_next(
        400,
        body={
            "errors": [
                {
                    "field": "from",
                    "message": "The from address does not match a verified Sender Identity.",
                    "help": None,
                }
            ]
        },
    )
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.failed == 1 and len(sendgrid_stub.requests) == 1
    assert "verified Sender Identity" in (_digest(session_factory).error or "")
    again = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(hours=1)
    )
    assert again.sent == 0 and len(sendgrid_stub.requests) == 1  # not retried forever


@pytest.fixture
def swallowing_server() -> Iterator[tuple[str, list[bytes]]]:
    """An HTTP server that reads a request completely, then hangs up without answering:
    what a client sees when the API's 202 is lost on the way back."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:
                    body += conn.recv(65536)
                received.append(body)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_sendgrid_answer_lost_after_the_request_is_unknown_not_resent(
    session_factory: sessionmaker[Session],
    swallowing_server: tuple[str, list[bytes]],
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, received = swallowing_server
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    _seed(session_factory)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sendgrid_api_key=DEFAULT_API_KEY,  # type: ignore[arg-type]
        sendgrid_host=url,
        send_backoff_max_seconds=0,
    )
    summary = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW, sleep=lambda _: None
    )
    assert summary.unknown == 1 and summary.sent == 0
    assert len(received) == 1  # one request, no blind retry
    assert _digest(session_factory).status == DeliveryStatus.UNKNOWN
    later = send_due_digests(
        session_factory, settings, make_sender(settings), now=NOW + timedelta(hours=1)
    )
    assert later.sent == 0 and len(received) == 1
