"""Operator views agree on what became of each digest (alerts/ledger.py `outcome`).

The run that met a server away, `digest send`, `digest status` and
`subscriptions list` all name a deferred digest "deferred" (it is stored
`failed` with its stories back in the queue), none calls it a failure once a
later digest carried its stories, and the counts `digest send` prints are the
ones the message itself shows.
"""

from __future__ import annotations

import json
from datetime import timedelta

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli import app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from db.models import DeliveryStatus, Digest
from db.session import unit_of_work
from tests.servers.smtp import SmtpTestServer
from tests.test_digest_fixtures import NOW, match, story, subscribe
from tests.test_subscriptions_cli import cli, runner  # noqa: F401  (the fixture)


def _use(settings: Settings) -> None:
    console, err = Console(width=250, soft_wrap=True), Console(stderr=True, width=250)
    reset_context(AppContext(settings=settings, console=console, err=err))


def test_a_deferred_digest_reads_the_same_everywhere(
    cli: Settings,  # noqa: F811
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "desk@newsroom.example")
        story(session, 1, "МВД открывает представительство")
    match(session_factory, NOW - timedelta(minutes=1))
    smtp = cli.model_copy(
        update={
            "smtp_url": smtp_server.url,
            "mail_transport": "smtp",
            "send_max_attempts": 1,
            "send_backoff_max_seconds": 0,
        }
    )
    _use(smtp)
    smtp_server.reject_next("MAIL", "451 4.3.0 try again later")
    first = runner.invoke(app, ["digest", "send"])
    assert first.exit_code == 0, first.output
    assert "0 sent" in first.output and "1 deferred, 0 failed" in first.output
    with session_factory() as session:
        deferred = session.scalars(select(Digest)).one()
    assert deferred.status == DeliveryStatus.FAILED  # as stored; every view says deferred

    status = runner.invoke(app, ["digest", "status"])
    assert f"{deferred.id}" in status.output and "deferred" in status.output, status.output
    assert "its stories go out with the next digest run" in status.output
    assert "none needs you" in status.output
    listed = json.loads(runner.invoke(app, ["subscriptions", "list", "--format", "json"]).output)
    assert listed[0]["problem"] is None
    assert listed[0]["last_digest"].startswith(f"digest {deferred.id} deferred")

    second = runner.invoke(app, ["digest", "send"])
    assert second.exit_code == 0, second.output
    [received] = smtp_server.messages
    # The summary counts what the message lists, as its subject does.
    assert str(received.message["Subject"]).startswith("1 new story")
    assert "1 sent (1 story)" in second.output, second.output
    with session_factory() as session:
        later = session.scalars(select(Digest).where(Digest.id > deferred.id)).one()
    status = runner.invoke(app, ["digest", "status"])
    assert f"its stories went out in digest {later.id}" in status.output, status.output
    listed = json.loads(runner.invoke(app, ["subscriptions", "list", "--format", "json"]).output)
    assert listed[0]["problem"] is None
    assert listed[0]["last_digest"].startswith(f"digest {later.id} sent")


def test_a_failed_digest_needs_the_operator_in_every_view(
    cli: Settings,  # noqa: F811
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
) -> None:
    with unit_of_work(session_factory) as session:
        subscribe(session, "desk@newsroom.example")
        story(session, 1, "МВД открывает представительство")
    match(session_factory, NOW - timedelta(minutes=1))
    _use(cli.model_copy(update={"smtp_url": smtp_server.url, "mail_transport": "smtp"}))
    smtp_server.reject_next("RCPT", "550 5.1.1 no such user")
    sent = runner.invoke(app, ["digest", "send"])
    assert sent.exit_code == 1 and "0 deferred, 1 failed" in sent.output, sent.output
    status = runner.invoke(app, ["digest", "status"])
    assert "failed" in status.output and "1 need you (failed or unknown)" in status.output
    assert "digest resend" in status.output
    listed = json.loads(runner.invoke(app, ["subscriptions", "list", "--format", "json"]).output)
    assert "failed" in listed[0]["problem"] and "no such user" in listed[0]["problem"]
