"""Exactly once under real failures: a sender killed with SIGKILL mid-run, two senders at once,
and two schedulers of which the lease lets only one send.

Each scenario runs the digest code in separate Python processes against a
real SMTP server (aiosmtpd in this process) and a real database, then reads
what the server received.
"""

from __future__ import annotations

import os
import re
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

from alerts.ledger import recover_interrupted, release_for_resend
from alerts.senders import MockSender
from core.settings import Settings
from db.models import Delivery, DeliveryStatus, Digest, Frequency
from db.session import unit_of_work
from tests.conftest import ROOT
from tests.servers.smtp import SmtpTestServer
from tests.test_digest_fixtures import story, subscribe

pytestmark = pytest.mark.slow

# Sends due digests through SMTP. With BLOCK_AT=n it hangs on the n-th message,
# before or after handing it to the server, as a process does when it is killed.
WORKER = """
import sys, time
from pathlib import Path
from alerts.digest import send_due_digests
from alerts.senders import SmtpSender
from alerts.tokens import Tokens
from db.session import make_engine, make_sessionmaker
from core.settings import Settings

url, smtp, data_dir, block_at, where, marker, go = sys.argv[1:8]
settings = Settings(data_dir=data_dir, database_url=url, smtp_url=smtp, instant_batch_minutes=0)

def mark(to):
    # Written whole, then renamed: the test may kill us the moment the file exists.
    Path(marker + ".tmp").write_text(to)
    Path(marker + ".tmp").rename(marker)

class Sender:
    name = "smtp"
    def __init__(self):
        self.inner = SmtpSender(smtp, timeout=10, local_hostname="worker.test")
        self.count = 0
    def send(self, message):
        self.count += 1
        if self.count == int(block_at) and where == "before":
            mark(message.to)
            time.sleep(3600)
        result = self.inner.send(message)
        if self.count == int(block_at) and where == "after":
            mark(message.to)
            time.sleep(3600)
        return result
    def was_delivered(self, message_id):
        return self.inner.was_delivered(message_id)

while go and not Path(go).exists():
    time.sleep(0.01)
factory = make_sessionmaker(make_engine(url))
summary = send_due_digests(factory, settings, Sender(), tokens=Tokens(b"k" * 32))
print("sent", summary.sent, "unknown", summary.unknown)
"""


def _worker(
    database_url: str,
    smtp: SmtpTestServer,
    tmp_path: Path,
    *,
    block_at: int = 0,
    where: str = "",
    marker: Path | None = None,
    go: Path | None = None,
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-c",
        WORKER,
        database_url,
        smtp.url,
        str(tmp_path),
        str(block_at),
        where,
        str(marker or ""),
        str(go or ""),
    ]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _seed(factory: sessionmaker[Session], subscribers: int) -> list[str]:
    now = datetime.now(UTC)
    emails = [f"reader{n}@newsroom.example" for n in range(subscribers)]
    with unit_of_work(factory) as session:
        for email in emails:
            subscribe(session, email, Frequency.INSTANT, confirmed_at=now - timedelta(hours=2))
        for n in range(3):
            story(session, n, f"МВД открывает представительство {n}", published=now)
    from tests.test_digest_fixtures import match

    match(factory, now - timedelta(minutes=1))
    return emails


def _wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            out = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"worker exited before blocking: {out}")
        if time.monotonic() > deadline:
            pytest.fail("worker never reached the blocking message")
        time.sleep(0.02)


def _finish(process: subprocess.Popen[bytes]) -> str:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out.decode()
    return out.decode()


@pytest.mark.parametrize("where", ["after", "before"])
def test_sigkill_mid_run_then_restart_sends_the_rest_and_repeats_nothing(
    where: str,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    emails = _seed(session_factory, subscribers=6)
    marker = tmp_path / "blocked"
    first = _worker(database_url, smtp_server, tmp_path, block_at=3, where=where, marker=marker)
    _wait_for(marker, first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    in_flight = marker.read_text()
    assert in_flight in emails, in_flight
    before_restart = [m.rcpt_tos[0] for m in smtp_server.messages]
    assert len(before_restart) == (3 if where == "after" else 2)
    assert (in_flight in before_restart) == (where == "after")

    _finish(_worker(database_url, smtp_server, tmp_path))  # the restarted process

    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert max(received.values()) == 1, received  # nothing repeated
    assert set(received) == set(emails) - ({in_flight} if where == "before" else set())
    for message in smtp_server.messages:
        assert message.message.get_body(preferencelist=("plain",)) is not None
    with session_factory() as session:
        statuses = Counter(d.status for d in session.scalars(select(Digest)))
        assert statuses == {DeliveryStatus.SENT: 5, DeliveryStatus.SENDING: 1}
        story_ids = session.execute(select(Delivery.subscriber_id, Delivery.story_id)).all()
        assert len(story_ids) == len(set(story_ids)) == 6 * 3

    # Later, the interrupted digest is settled as unknown: listed, never silently dropped.
    later = datetime.now(UTC) + timedelta(minutes=20)
    assert recover_interrupted(session_factory, MockSender(), now=later) == 1
    with session_factory() as session:
        [unknown] = session.scalars(
            select(Digest).where(Digest.status == DeliveryStatus.UNKNOWN)
        ).all()
    if where == "before":
        # The operator sees it never left and sends it again; it arrives exactly once.
        release_for_resend(session_factory, unknown.id)
        _finish(_worker(database_url, smtp_server, tmp_path))
        received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
        assert received == Counter(emails)


def test_two_senders_at_once_send_each_digest_once(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    emails = _seed(session_factory, subscribers=8)
    go = tmp_path / "go"
    workers = [_worker(database_url, smtp_server, tmp_path, go=go) for _ in range(2)]
    time.sleep(1.5)  # both imported and waiting
    go.write_text("go")
    outputs = [_finish(worker) for worker in workers]
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert received == Counter(emails), outputs
    counts = [int(re.search(r"sent (\d+)", out).group(1)) for out in outputs]  # type: ignore[union-attr]
    assert sum(counts) == len(emails), outputs
    with session_factory() as session:
        sent = session.scalars(select(Digest).where(Digest.status == DeliveryStatus.SENT)).all()
        assert len(sent) == len(emails)


SCHEDULER_JOB = """
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
go = sys.argv[1]
while not Path(go).exists():
    time.sleep(0.01)
from scheduler import jobs
jobs.send_digests()
"""


def test_two_schedulers_one_lease_one_sender(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    database_url: str,
    tmp_path: Path,
) -> None:
    emails = _seed(session_factory, subscribers=4)
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        smtp_url=smtp_server.url,
        instant_batch_minutes=0,
    )
    env = {**os.environ, **settings.to_env()}
    go = tmp_path / "go"
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_JOB, str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)
    go.write_text("go")
    outputs = [_finish(job) for job in jobs]
    assert sum("staying passive" in out for out in outputs) == 1, outputs
    received = Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert received == Counter(emails), outputs
