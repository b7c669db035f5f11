"""`wirewatch subscribe` (double opt-in by default), `subscriptions list`, `digest`, `webhooks`."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from db import queries
from db.models import DeliveryStatus, Digest, Frequency
from db.session import unit_of_work
from tests.servers.smtp import SmtpTestServer
from tests.test_digest_fixtures import match, story, subscribe, topic

runner = CliRunner()
_register_commands()


@pytest.fixture
def cli(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")
    with unit_of_work(session_factory) as session:
        topic(session)
        topic(session, "migration-deals", "соглашение")
    console, err = Console(width=200, soft_wrap=True), Console(stderr=True, width=200)
    reset_context(AppContext(settings=settings, console=console, err=err))
    yield settings
    reset_context(None)


def _outbox(settings: Settings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    found = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_subscribe_sends_a_confirmation_and_nothing_else(
    cli: Settings, session_factory: sessionmaker[Session]
) -> None:
    args = ["subscribe", "Reader@Newsroom.example", "-t", "mvd", "-t", "migration-deals"]
    args += ["--every", "weekly", "--timezone", "Asia/Dushanbe", "--hour", "9", "--weekday", "4"]
    result = runner.invoke(app, [*args, "--no-updates", "--order", "coverage"])
    assert result.exit_code == 0, result.output
    assert "confirmation sent to reader@newsroom.example" in result.output
    [confirmation] = _outbox(cli)
    body = confirmation.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    assert "weekly on Friday at 09:00 (Asia/Dushanbe)" in body.get_content()
    assert re.search(r"https://ww\.example/confirm/\S+", body.get_content())
    with session_factory() as session:
        subs = queries.subscriptions_of(session=session, email="reader@newsroom.example")
        assert [(s.topic.slug, s.confirmed, s.include_updates, s.ordering) for s in subs] == [
            ("mvd", False, False, "coverage"),
            ("migration-deals", False, False, "coverage"),
        ]
    listed = runner.invoke(app, ["subscriptions", "list", "--format", "json"])
    rows = json.loads(listed.output)
    assert {row["state"] for row in rows} == {"awaiting confirmation"}
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "less than 15 minutes ago" in again.output
    assert len(_outbox(cli)) == 1


def test_the_operator_may_confirm_at_once(cli: Settings) -> None:
    result = runner.invoke(
        app, ["subscribe", "desk@newsroom.example", "-t", "mvd", "--every", "daily", "--confirmed"]
    )
    assert result.exit_code == 0 and "subscribed: desk@newsroom.example" in result.output
    assert _outbox(cli) == []
    listed = runner.invoke(
        app, ["subscriptions", "list", "--email", "desk@newsroom.example", "--format", "json"]
    )
    [row] = json.loads(listed.output)
    assert (row["state"], row["schedule"]) == ("active", "daily at 08:00 (UTC)")
    table = runner.invoke(app, ["subscriptions", "list"])
    assert table.exit_code == 0 and "desk@newsroom" in table.output


def test_digest_status_and_resend_surface_what_went_wrong(
    cli: Settings, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "desk@newsroom.example")
        story(session, 1, "МВД открывает представительство")
    match(session_factory)
    with unit_of_work(session_factory) as session:
        sub = queries.subscriptions_of(session=session, email="desk@newsroom.example")[0]
        session.add(
            Digest(
                subscription_id=sub.id,
                period_key="I-lost",
                status=DeliveryStatus.UNKNOWN,
                subject="1 new story: MVD offices",
                error="answer lost",
            )
        )
    status = runner.invoke(app, ["digest", "status"])
    assert "unknown" in status.output and "desk@newsroom.example" in status.output
    listed = runner.invoke(app, ["subscriptions", "list", "--format", "json"])
    assert "answer lost" in json.loads(listed.output)[0]["problem"]
    with session_factory() as session:
        digest_id = session.scalars(select(Digest.id)).one()
    resend = runner.invoke(app, ["digest", "resend", str(digest_id)])
    assert resend.exit_code == 0 and "released" in resend.output
    twice = runner.invoke(app, ["digest", "resend", str(digest_id)])
    assert twice.exit_code == 1 and "already released" in twice.output
    sent = runner.invoke(app, ["digest", "send"])
    assert sent.exit_code == 0 and "1 sent" in sent.output, sent.output
    assert len(_outbox(cli)) == 1


def test_digest_send_exits_non_zero_when_the_transport_refuses_our_credentials(
    cli: Settings, session_factory: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "desk@newsroom.example")
        story(session, 1, "МВД открывает представительство")
    match(session_factory)
    wrong = cli.model_copy(update={"smtp_url": smtp_server.url_with_login(password="wrong")})
    console, err = Console(width=200, soft_wrap=True), Console(stderr=True, width=200)
    reset_context(AppContext(settings=wrong, console=console, err=err))
    refused = runner.invoke(app, ["digest", "send"])
    assert refused.exit_code == 1, refused.output
    assert "0 sent" in refused.output and "1 deferred" in refused.output
    assert smtp_server.messages == []


def test_webhooks_are_managed_from_the_cli(cli: Settings) -> None:
    bad = runner.invoke(app, ["webhooks", "add", "mvd", "ftp://chat.example/hook"])
    assert bad.exit_code == 1 and "http" in bad.output
    added = runner.invoke(app, ["webhooks", "add", "mvd", "https://chat.example/hooks/1"])
    assert added.exit_code == 0 and "secret" in added.output
    listed = runner.invoke(app, ["webhooks", "list"])
    assert "https://chat.example/hooks/1" in listed.output
    assert runner.invoke(app, ["webhooks", "remove", "1"]).exit_code == 0
    missing = runner.invoke(app, ["webhooks", "remove", "9"])
    assert missing.exit_code == 1 and "no webhook with id 9" in missing.output


def test_subscribing_a_suppressed_address_is_refused(
    cli: Settings, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "bounced@newsroom.example", Frequency.DAILY)
        queries.suppress_address(
            session=session,
            email="bounced@newsroom.example",
            reason="bounce: 550",
            when=datetime.now(UTC),
        )
    result = runner.invoke(app, ["subscribe", "bounced@newsroom.example", "-t", "migration-deals"])
    assert result.exit_code == 1 and "suppressed" in result.output
    assert _outbox(cli) == []
