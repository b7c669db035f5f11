"""A digest that reached its mail server is never sent twice, even after a kill or a resend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.digest import send_due_digests
from alerts.events import handle_events
from alerts.ledger import (
    AlreadyDeliveredError,
    ResendRefusedError,
    recover_interrupted,
    release_for_resend,
)
from alerts.senders import MockSender, OutgoingMessage, SendGridSender, SendResult
from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.errors import UncertainDeliveryError
from core.settings import Settings
from db.models import DeliveryStatus, Digest
from db.session import unit_of_work
from tests.conftest import ROOT
from tests.servers.sendgrid_stub import DEFAULT_API_KEY, SendGridStub
from tests.servers.smtp import SmtpTestServer
from tests.test_digest_crash import _seed, _wait_for
from tests.test_digest_fixtures import NOW, TOKENS, match, story, subscribe

_register_commands()

# Sends due digests through SMTP; on the BLOCK_AT-th message the server has
# answered 250 to DATA when QUIT hangs, as a server that stalls at goodbye does.
WORKER = """
import sys, time
from pathlib import Path
import alerts.senders.smtp as smtp_module
from alerts.digest import send_due_digests
from alerts.senders import SmtpSender
from alerts.tokens import Tokens
from core.settings import Settings
from db.session import make_engine, make_sessionmaker

url, smtp, data_dir, block_at, marker = sys.argv[1:6]
settings = Settings(data_dir=data_dir, database_url=url, smtp_url=smtp, instant_batch_minutes=0)
calls = 0
quit_quietly = smtp_module._quit_quietly

def stalled_quit(connection):
    global calls
    calls += 1
    if calls == int(block_at):
        Path(marker + ".tmp").write_text("quit")
        Path(marker + ".tmp").rename(marker)
        time.sleep(3600)
    quit_quietly(connection)

smtp_module._quit_quietly = stalled_quit
factory = make_sessionmaker(make_engine(url))
sender = SmtpSender(smtp, timeout=10, local_hostname="worker.test")
summary = send_due_digests(factory, settings, sender, tokens=Tokens(b"k" * 32))
print("sent", summary.sent, "unknown", summary.unknown)
"""


@pytest.mark.slow
def test_killed_after_the_server_took_it_is_sent_not_unknown_nor_resent(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    emails = _seed(session_factory, subscribers=3)
    marker = tmp_path / "blocked"
    args = [database_url, smtp_server.url, str(tmp_path), "2", str(marker)]
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    _wait_for(marker, worker)
    os.kill(worker.pid, signal.SIGKILL)  # after the server's 250, before the digest settled
    worker.wait(timeout=30)
    assert len(smtp_server.messages) == 2

    later = datetime.now(UTC) + timedelta(minutes=20)
    assert recover_interrupted(session_factory, MockSender(), now=later) == 0
    with session_factory() as session:
        statuses = Counter(d.status for d in session.scalars(select(Digest)))
        killed = session.scalars(select(Digest).where(Digest.accepted_at.is_not(None))).all()
    assert statuses == {DeliveryStatus.SENT: 2}
    assert killed and "server accepted it" in (killed[-1].error or "")
    with pytest.raises(ResendRefusedError):
        release_for_resend(session_factory, killed[-1].id)

    finish = subprocess.run(
        [sys.executable, "-c", WORKER, database_url, smtp_server.url, str(tmp_path), "0", ""],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert Counter(m.rcpt_tos[0] for m in smtp_server.messages) == Counter(emails)


def test_resend_asks_the_providers_event_records_first(
    session_factory: sessionmaker[Session], tmp_path: Path, database_url: str
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, instant_batch_minutes=0)
    with unit_of_work(session_factory) as session:
        subscribe(session, "a@x.example")
        story(session, 1, "МВД открывает представительство")
    match(session_factory)

    def lost(_: OutgoingMessage) -> SendResult:
        raise UncertainDeliveryError("SendGrid got the request but its answer was lost")

    summary = send_due_digests(session_factory, settings, MockSender(lost), now=NOW, tokens=TOKENS)
    assert summary.unknown == 1
    with session_factory() as session:
        digest = session.scalars(select(Digest)).one()
        message_id = digest.message_id
    # SendGrid reports it processed; this report lacks the digest_id custom argument,
    # so only its smtp-id (our Message-ID) ties it to the digest.
    event = {"event": "processed", "email": "a@x.example", "smtp-id": message_id}
    with unit_of_work(session_factory) as session:
        handle_events(session, [{**event, "timestamp": int(time.time())}])
    with pytest.raises(AlreadyDeliveredError, match="reported 'processed'"):
        release_for_resend(session_factory, digest.id, MockSender())
    with session_factory() as session:
        assert session.get(Digest, digest.id).status == DeliveryStatus.SENT  # type: ignore[union-attr]
    # what an operator sees from the command
    reset_context(AppContext(settings=settings))
    try:
        told = CliRunner().invoke(app, ["digest", "resend", str(digest.id)])
    finally:
        reset_context(None)
    assert told.exit_code == 1 and "is sent" in told.output  # already settled: nothing to do
    again = send_due_digests(
        session_factory, settings, MockSender(), now=NOW + timedelta(hours=1), tokens=TOKENS
    )
    assert again.sent == 0


def test_sendgrid_reports_its_202_and_message_id_the_moment_it_comes(
    sendgrid_stub: SendGridStub,
) -> None:
    sender = SendGridSender(DEFAULT_API_KEY, host=sendgrid_stub.url)
    seen: list[tuple[str, str | None]] = []
    sender.on_accepted = lambda message, provider_id: seen.append((message.message_id, provider_id))
    message = OutgoingMessage(
        to="a@x.example", from_addr="ww <alerts@ww.example>", subject="s", text="t", html=""
    )
    result = sender.send(message)
    assert seen == [(message.message_id, result.provider_id)]
    assert result.provider_id == sendgrid_stub.message_ids[0]
