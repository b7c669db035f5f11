"""News reaches an instant subscriber when the crawl ends, not at the scheduler's next tick.

A real scheduler process (as `wirewatch run` starts it) with a tick of an hour:
after its first tick nothing but a wake-up can send anything within the test.
The crawl it starts wakes the digest job the moment the crawl process exits;
a crawl run from another process (`wirewatch crawl`) is noticed by the
watcher. Both are checked by what the database recorded and in what order,
not by timing (bench/freshness.py measures the time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from db import queries
from db.models import CrawlRun, CrawlStatus, Delivery, DeliveryStatus, Digest, Frequency, Story
from db.session import unit_of_work
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

ITEM = """<item><title>{title}</title><link>{base}/news/{n}</link><guid>{base}/news/{n}</guid>
<description>{title}. {text}</description></item>"""
# Two unrelated reports (one event would make the second old news to the subscriber).
TEXTS = {
    "Ferry line to the islands reopens": "The harbour authority said the ferry line to the "
    "islands will run twice a day from Monday, after weeks of talks with the unions.",
    "Second ferry added for the summer season": "A shipyard in the north delivered a new "
    "vessel; the regional council will lease it as a second ferry from June to September.",
}


class Feed:
    """An RSS feed on 127.0.0.1 whose entries the test adds while the service runs."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = feed.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self) -> str:
        items = "".join(
            ITEM.format(title=t, text=TEXTS[t], base=self.base, n=n)
            for n, t in enumerate(self.titles)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port</title>{items}</channel></rss>'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed() -> Iterator[Feed]:
    running = Feed()
    yield running
    running.close()


def _wait_for(what: str, check: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)


def _sent(factory: sessionmaker[Session]) -> list[Digest]:
    with factory() as session:
        rows = session.scalars(
            select(Digest).where(Digest.status == DeliveryStatus.SENT).order_by(Digest.id)
        ).all()
        session.expunge_all()
        return list(rows)


def _settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    """An hourly tick: after the first, only a wake-up or an alarm runs a job in a test."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        outbox_dir=tmp_path / "outbox",
        mail_transport="outbox",
        allow_private_hosts=["127.0.0.1"],
        follow_article_links=False,
        download_delay=0,
        scheduler_tick_seconds=3600,
        instant_poll_seconds=1,
        **extra,
    )


def _scheduler(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "scheduler"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_finished_crawl_wakes_the_instant_sender(
    feed: Feed, tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    settings = _settings(tmp_path, database_url)
    with unit_of_work(session_factory) as session:
        queries.upsert_source(session=session, name="port", url=f"{feed.base}/rss")
        topic, _ = queries.upsert_topic(
            session=session, slug="ferries", name="Ferries", query="ferry"
        )
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=Frequency.INSTANT,
            token="tok",
            confirmed=True,
        )
    feed.titles.append("Ferry line to the islands reopens")
    env = {**os.environ, **settings.to_env()}
    service = _scheduler(env)
    try:
        # The first tick starts a crawl; the next tick is an hour away.
        _wait_for("the first email", lambda: len(_sent(session_factory)) == 1)
        with session_factory() as session:
            run = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).first()
            assert run is not None
            session.expunge(run)
        assert run.status == CrawlStatus.SUCCEEDED and run.new == 1
        assert run.trigger == "scheduler"
        assert run.finished_at is not None
        # Sent once the crawl was over, not at the next tick an hour away. "Over" is
        # when its process exited: the run counts as running no longer from then,
        # which may be a moment before the scheduler records it as finished.
        sent = _sent(session_factory)[0].created_at
        assert run.started_at <= sent <= run.finished_at + timedelta(seconds=60)

        # Another process crawls a new story: the watcher notices and wakes the sender.
        feed.titles.append("Second ferry added for the summer season")
        crawl = subprocess.run(
            [sys.executable, "-m", "cli", "crawl", "--all"],
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=300,
        )
        assert crawl.returncode == 0, crawl.stdout.decode() + crawl.stderr.decode()
        _wait_for("the second email", lambda: len(_sent(session_factory)) == 2)
    finally:
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=60)
        print(out.decode("utf-8", "replace"))  # shown when the test fails
    log = out.decode("utf-8", "replace")
    assert "crawl #1 finished: succeeded, 1 new" in log, log
    emails = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(emails) == 2
    with session_factory() as session:
        delivered = session.scalars(
            select(Story.title).join(Delivery, Delivery.story_id == Story.id).order_by(Story.id)
        ).all()
    assert delivered == [
        "Ferry line to the islands reopens",
        "Second ferry added for the summer season",
    ]


def test_a_source_is_crawled_when_it_falls_due_not_at_the_next_tick(
    feed: Feed, tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """A source due every minute under an hourly tick: its second crawl starts a minute
    after the first, because the crawl job makes itself due for it."""
    settings = _settings(
        tmp_path, database_url, adaptive_polling=False, poll_min_minutes=1, poll_jitter=0
    )
    with unit_of_work(session_factory) as session:
        queries.upsert_source(
            session=session, name="port", url=f"{feed.base}/rss", interval_minutes=1
        )
    env = {**os.environ, **settings.to_env()}
    service = _scheduler(env)

    def runs() -> list[CrawlRun]:
        with session_factory() as session:
            found = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
            session.expunge_all()
            return [r for r in found if r.finished_at is not None]

    try:
        _wait_for("two crawls", lambda: len(runs()) >= 2, timeout=200)
    finally:
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=60)
        print(out.decode("utf-8", "replace"))  # shown when the test fails
    first, second = runs()[:2]
    assert first.trigger == second.trigger == "scheduler"
    assert first.finished_at is not None
    gap = (second.started_at - first.started_at).total_seconds()
    assert 55 <= gap <= 120, gap
