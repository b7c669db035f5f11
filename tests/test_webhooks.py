"""Signed JSON webhooks, received by a real HTTP server on 127.0.0.1 that checks signatures."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.senders import MockSender
from alerts.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    WebhookSignatureError,
    add_webhook,
    deliver_webhooks,
    sign,
    verify,
)
from core.errors import ConfigError
from core.settings import Settings
from db import events, queries
from db.models import Cluster, CrawlRun, CrawlStatus, DeliveryStatus, Story, WebhookDelivery
from db.session import unit_of_work
from tests.test_digest_fixtures import NOW, TOKENS, match, story, topic


@dataclass
class Receiver:
    """A chat tool's incoming webhook: verifies, records, skips delivery ids it has seen."""

    secret: str = ""
    fail_with: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    handled: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": body})
            if state.fail_with:
                self.send_response(state.fail_with.pop(0))
                self.end_headers()
                return
            try:
                verify(state.secret, self.headers.get(SIGNATURE_HEADER), body)
            except WebhookSignatureError:
                self.send_response(401)
                self.end_headers()
                return
            state.handled.setdefault(self.headers[DELIVERY_HEADER], json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/wirewatch"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="https://ww.example",
        allow_private_hosts=["127.0.0.1"],
    )


def _hook(factory: sessionmaker[Session], settings: Settings, receiver: Receiver) -> None:
    with unit_of_work(factory) as session:
        topic(session)
        hook = add_webhook(session, settings, topic_slug="mvd", url=receiver.url)
        hook.created_at = NOW - timedelta(hours=2)
        receiver.secret = hook.secret


def _stories(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        cluster = Cluster(size=2, languages={"ru": 1, "en": 1})
        session.add(cluster)
        session.flush()
        story(session, 1, "МВД открывает представительство", cluster=cluster.id)
        story(
            session,
            2,
            "MVD opens an office",
            source="wire",
            language="en",
            body="The MVD office opens.",
            cluster=cluster.id,
        )
        story(session, 3, "Представительство МВД в Душанбе")
    match(factory)


def test_a_signed_batch_arrives_once_with_text_for_chat_tools(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    _hook(session_factory, settings, receiver)
    _stories(session_factory)
    summary = deliver_webhooks(session_factory, settings, now=NOW)
    assert summary.posted == 1 and summary.stories == 3
    [request] = receiver.requests
    assert request["headers"]["Content-Type"].startswith("application/json")
    [payload] = receiver.handled.values()
    assert payload["topic"] == {"slug": "mvd", "name": "MVD offices"}
    assert payload["text"].startswith("2 new stories: MVD offices\n• ")
    titles = {s["title"]: s for s in payload["stories"]}
    assert len(titles) == 2  # one entry per cluster
    entry = titles["MVD opens an office"]  # the earliest story of the cluster leads it
    assert entry["also_reported_by"] == 1 and entry["why"] and entry["updated"] is False
    assert entry["archive_url"].startswith("https://ww.example/stories/")
    assert deliver_webhooks(session_factory, settings, now=NOW).posted == 0  # nothing new


def test_a_story_carries_its_event_and_the_other_reports(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    """Like the JSON API and the exports: the event id and each other outlet's report."""
    _hook(session_factory, settings, receiver)
    with unit_of_work(session_factory) as session:
        first = story(session, 1, "МВД открывает представительство")
        second = story(
            session, 2, "MVD opens an office", source="wire", language="en",
            body="The MVD office opens.",
        )  # fmt: skip
        rows = [session.get_one(Story, first), session.get_one(Story, second)]
        first_at, second_at = rows[0].published_at, rows[1].published_at
        assert first_at is not None and second_at is not None
        event = events.start_event(session=session, story=rows[0], at=first_at)
        events.join_event(session=session, event=event, story=rows[1], at=second_at)
        event_id = event.id
    match(session_factory)
    assert deliver_webhooks(session_factory, settings, now=NOW).posted == 1
    [payload] = receiver.handled.values()
    [entry] = payload["stories"]  # one entry per event
    assert entry["event"] == event_id
    other = {"МВД открывает представительство": ("wire", "en", "https://wire.example/2"),
             "MVD opens an office": ("herald", "ru", "https://herald.example/1")}[entry["title"]]  # fmt: skip
    assert entry["event_reports"] == [{"source": other[0], "language": other[1], "url": other[2]}]


def test_signature_check_refuses_tampering_and_replays() -> None:
    body = b'{"id": "1"}'
    now = int(time.time())
    header = sign("s3cret", now, body)
    verify("s3cret", header, body)
    for secret, hdr, data in (
        ("s3cret", header, b'{"id": "2"}'),
        ("other", header, body),
        ("s3cret", sign("s3cret", now - 3600, body), body),
        ("s3cret", None, body),
        ("s3cret", "v1=abc", body),
    ):
        with pytest.raises(WebhookSignatureError):
            verify(secret, hdr, data)


def test_a_failed_batch_is_retried_with_the_same_delivery_id(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    _hook(session_factory, settings, receiver)
    _stories(session_factory)
    receiver.fail_with = [503]
    first = deliver_webhooks(session_factory, settings, now=NOW)
    assert first.deferred == 1 and not receiver.handled
    with unit_of_work(session_factory) as session:
        story(session, 4, "МВД: ещё одно представительство")
    match(session_factory)
    second = deliver_webhooks(session_factory, settings, now=NOW + timedelta(minutes=1))
    third = deliver_webhooks(session_factory, settings, now=NOW + timedelta(minutes=2))
    assert (second.posted, third.posted) == (1, 1)
    ids = [r["headers"][DELIVERY_HEADER] for r in receiver.requests]
    assert ids[0] == ids[1] != ids[2]  # the retry reused its id; the new story got a new one
    delivered = [s["title"] for p in receiver.handled.values() for s in p["stories"]]
    assert len(delivered) == len(set(delivered)) == 3


def test_a_rejected_batch_is_not_retried(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    _hook(session_factory, settings, receiver)
    _stories(session_factory)
    receiver.fail_with = [410]
    failed = deliver_webhooks(session_factory, settings, now=NOW)
    assert failed.failed == 1 and "HTTP 410" in failed.errors[0]
    assert deliver_webhooks(session_factory, settings, now=NOW + timedelta(minutes=1)).posted == 0
    assert len(receiver.requests) == 1
    with session_factory() as session:
        statuses = set(session.scalars(select(WebhookDelivery.status)))
    assert statuses == {DeliveryStatus.FAILED}


def test_changed_stories_are_posted_again_marked_updated(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    _hook(session_factory, settings, receiver)
    with unit_of_work(session_factory) as session:
        story_id = story(session, 1, "МВД откроет представительство")
    match(session_factory)
    deliver_webhooks(session_factory, settings, now=NOW)
    with unit_of_work(session_factory) as session:
        row = session.get(Story, story_id)
        assert row is not None
        row.version, row.title, row.matched_at = 2, "МВД открыло представительство", None
    match(session_factory)
    deliver_webhooks(session_factory, settings, now=NOW + timedelta(minutes=5))
    latest = list(receiver.handled.values())[-1]
    assert latest["text"].startswith("1 updated story: ")
    assert latest["stories"][0]["updated"] is True and latest["stories"][0]["version"] == 2


def test_webhooks_go_out_with_the_digest_run_and_wait_for_a_crawl(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    _hook(session_factory, settings, receiver)
    _stories(session_factory)
    with unit_of_work(session_factory) as session:
        # a crawl this (live) process owns
        queries.create_crawl_run(session=session, source_id=None, trigger="test").started_at = NOW
    patient = settings.model_copy(update={"instant_batch_minutes": 60.0})  # matched 30 min ago
    held = send_due_digests(session_factory, patient, MockSender(), now=NOW, tokens=TOKENS)
    assert held.webhooks is not None and held.webhooks.held == 1 and not receiver.requests
    with unit_of_work(session_factory) as session:
        for run in session.scalars(select(CrawlRun)):
            run.status = CrawlStatus.SUCCEEDED
    sent = send_due_digests(session_factory, patient, MockSender(), now=NOW, tokens=TOKENS)
    assert sent.webhooks is not None and sent.webhooks.posted == 1


def test_webhooks_to_internal_addresses_are_refused(
    session_factory: sessionmaker[Session], settings: Settings, receiver: Receiver
) -> None:
    with unit_of_work(session_factory) as session:
        topic(session)
        with pytest.raises(ConfigError, match="http"):
            add_webhook(session, settings, topic_slug="mvd", url="file:///etc/passwd")
    _hook(session_factory, settings, receiver)
    _stories(session_factory)
    strict = settings.model_copy(update={"allow_private_hosts": []})
    summary = deliver_webhooks(session_factory, strict, now=NOW)
    assert summary.failed == 1 and "not a public address" in summary.errors[0]
    assert receiver.requests == []


@dataclass
class HostileReceiver:
    """Answers 200 and then misbehaves: ``bomb`` bytes of gzip, or a byte every ``trickle`` s."""

    url: str = ""
    bomb: bytes = b""
    trickle: float = 0.0
    accept_encoding: list[str] = field(default_factory=list)


@pytest.fixture
def hostile() -> Iterator[HostileReceiver]:
    state = HostileReceiver()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            state.accept_encoding.append(self.headers.get("Accept-Encoding", ""))
            self.send_response(200)
            try:
                if state.bomb:
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(state.bomb)))
                    self.end_headers()
                    for start in range(0, len(state.bomb), 65536):
                        self.wfile.write(state.bomb[start : start + 65536])
                    return
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    if stop.wait(state.trickle):
                        return
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:
                return  # the sender hung up, as it should

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    stop.set()
    server.shutdown()
    server.server_close()


@functools.cache
def _gzip_bomb(decoded_mib: int) -> bytes:
    """One gzip member that inflates to ``decoded_mib`` MiB of zeros."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(decoded_mib)) + packer.flush()


def _hook_at(factory: sessionmaker[Session], settings: Settings, url: str) -> None:
    with unit_of_work(factory) as session:
        topic(session)
        hook = add_webhook(session, settings, topic_slug="mvd", url=url)
        hook.created_at = NOW - timedelta(hours=2)


def test_a_huge_compressed_answer_is_neither_inflated_nor_read_past_the_cap(
    session_factory: sessionmaker[Session], settings: Settings, hostile: HostileReceiver
) -> None:
    import tracemalloc

    hostile.bomb = _gzip_bomb(300)  # ~300 KiB on the wire, 300 MiB decoded
    _hook_at(session_factory, settings, hostile.url)
    _stories(session_factory)
    tracemalloc.start()
    try:
        summary = deliver_webhooks(session_factory, settings, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB while reading the answer"
    assert summary.posted == 1  # a 2xx status is what counts; the answer's body is not needed
    assert hostile.accept_encoding == ["identity"]


def test_a_trickling_receiver_times_out_as_a_whole_and_the_run_goes_on(
    session_factory: sessionmaker[Session], settings: Settings, hostile: HostileReceiver
) -> None:
    hostile.trickle = 0.2  # every read gets a byte well within any per-read timeout
    quick = settings.model_copy(update={"webhook_timeout_seconds": 1.0})
    _hook_at(session_factory, quick, hostile.url)
    _stories(session_factory)
    started = time.monotonic()
    summary = send_due_digests(session_factory, quick, MockSender(), now=NOW, tokens=TOKENS)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"the digest run waited {elapsed:.1f} s for one webhook"
    assert summary.webhooks is not None and summary.webhooks.deferred == 1
    assert "Timeout" in summary.webhooks.errors[0]
    with session_factory() as session:
        statuses = set(session.scalars(select(WebhookDelivery.status)))
    assert statuses == {DeliveryStatus.PENDING}  # released: the same batch is posted next run
