"""The sources page, `sources list` and operator alerts read the same state per source.

Sources are seeded in every state (ok, failing, paused, silent against their
own history, disabled, new) on both engines; alerts go to the outbox and to a
webhook receiver on 127.0.0.1, once per incident.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts.senders import OutboxSender
from alerts.sourcealerts import alert_operator
from alerts.sourcehealth import found_delays, source_rows
from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from db import queries
from db import sources as source_writes
from db.migrate import upgrade
from db.models import Source, SourceKind, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from web.app import create_app

NOW = datetime.now(UTC)
runner = CliRunner()
_register_commands()


def _seed(session: Session) -> None:
    def add(name: str, **state: Any) -> Source:
        source, _ = queries.upsert_source(
            session=session, name=name, url=f"https://{name}.example/rss.xml"
        )
        for key, value in state.items():
            setattr(source, key, value)
        return source

    crawled = {"last_crawled_at": NOW - timedelta(minutes=10), "fetch_count": 10}
    add("steady", last_success_at=NOW, last_new_story_at=NOW, not_modified_count=4, **crawled)
    add(
        "broken",
        error_count=3,
        failure_kind="dns",
        failing_since=NOW - timedelta(hours=2),
        last_error="DNS: the host broken.example does not resolve",
        **crawled,
    )
    add(
        "hopeless",
        error_count=40,
        failure_kind="http",
        failing_since=NOW - timedelta(days=3),
        paused_at=NOW - timedelta(days=1),
        last_error="HTTP 410: Gone",
        **crawled,
    )
    quiet = add("quiet", last_success_at=NOW, last_new_story_at=NOW - timedelta(days=5), **crawled)
    add("off", enabled=False)
    add("fresh")
    session.flush()
    for day in range(6, 30):  # a story a day until five days ago: silent for it now
        when = NOW - timedelta(days=day)
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                1000 + day, f"https://quiet.example/{day}", source_id=quiet.id, published_at=when
            ),
        )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        admin_token="admin-token-for-tests-0123456789",
        operator_email="ops@example.org",
        allow_private_hosts=["127.0.0.1"],
    )
    upgrade(database_url)
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        _seed(session)
    engine.dispose()
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_each_source_gets_its_state(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        rows = {r.source.name: r for r in source_rows(session)}
    assert {name: r.status for name, r in rows.items()} == {
        "steady": "ok",
        "broken": "failing",
        "hopeless": "paused",
        "quiet": "silent",
        "off": "disabled",
        "fresh": "new",
    }
    assert rows["steady"].not_modified_share == pytest.approx(0.4)
    assert rows["quiet"].problem.startswith("no new story for 5 d; it usually has one every")
    assert rows["broken"].failure_label == "DNS"
    crawled = rows["broken"].source.last_crawled_at
    assert crawled is not None
    assert rows["broken"].next_poll == crawled + timedelta(minutes=30 * 8)  # backed off
    assert rows["hopeless"].next_poll == crawled + timedelta(hours=24)  # re-probed daily
    assert rows["fresh"].next_poll is None and rows["off"].next_poll is None


def test_the_page_shows_one_row_per_source_with_the_error_a_click_away(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as client:
        page = html.unescape(client.get("/sources").text)
        rows = re.findall(r'<tr class="source status-(\w+)" data-name="([^"]+)">', page)
        assert sorted(rows) == sorted(
            [
                ("ok", "steady"),
                ("failing", "broken"),
                ("paused", "hopeless"),
                ("silent", "quiet"),
                ("disabled", "off"),
                ("new", "fresh"),
            ]
        )
        assert "<summary>failing (DNS)</summary>" in page
        assert page.count("DNS: the host broken.example does not resolve") == 1
        assert "6 sources, 2 failing or paused" in page
        failing = html.unescape(client.get("/sources?failing=1").text)
        shown = set(re.findall(r'data-name="([^"]+)"', failing))
        assert shown == {"broken", "hopeless"}
        api = {s["name"]: s for s in client.get("/api/sources").json()}
        assert api["broken"]["status"] == "failing" and api["broken"]["failure"] == "dns"
        assert api["steady"]["not_modified_share"] == 0.4


def test_sources_list_shows_the_same_columns(settings: Settings) -> None:
    listed = runner.invoke(app, ["sources", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    for column in ("kind", "status", "last success", "last new story", "304s", "next poll"):
        assert column in listed.output
    assert "failing (DNS)" in listed.output and "40%" in listed.output
    failing = runner.invoke(app, ["sources", "list", "--failing", "--errors"])
    assert "steady" not in failing.output and "hopeless" in failing.output
    assert "hopeless: failing for 3 d, re-probed daily: HTTP 410: Gone" in failing.output


class _Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def test_the_operator_hears_once_per_incident(
    settings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    receiver = _Receiver()
    try:
        settings = settings.model_copy(update={"operator_webhook_url": receiver.url})
        outbox = tmp_path / "ops-outbox"
        report = alert_operator(factory, settings, OutboxSender(outbox))
        assert sorted(report.reported) == ["broken", "hopeless", "quiet"]
        assert report.emailed and report.posted and not report.errors
        [mail] = list(outbox.glob("*.eml"))
        text = mail.read_text(encoding="utf-8")
        assert "ops@example.org" in text and "3 sources need attention" in text
        assert "broken (feed, failing): DNS: the host broken.example does not resolve" in text
        [posted] = receiver.bodies
        assert {s["name"]: s["failure"] for s in posted["sources"]} == {
            "broken": "dns",
            "hopeless": "http",
            "quiet": None,
        }

        again = alert_operator(factory, settings, OutboxSender(outbox))
        assert again.reported == [] and len(list(outbox.glob("*.eml"))) == 1

        with unit_of_work(factory) as session:  # broken recovers, then fails anew
            broken = queries.get_source(session=session, name="broken")
            for error in (None, "connection: connection refused by broken.example:443"):
                source_writes.record_fetch_health(
                    session=session,
                    source_id=broken.id,
                    when=NOW,
                    error=error,
                    not_modified=False,
                    pause_after=timedelta(hours=48),
                )
            broken.error_count = 3
        third = alert_operator(factory, settings, OutboxSender(outbox))
        assert third.reported == ["broken"] and len(receiver.bodies) == 2
    finally:
        receiver.server.shutdown()


def test_the_cli_reports_and_says_when_nobody_is_told(settings: Settings) -> None:
    dry = runner.invoke(app, ["sources", "alert", "--dry-run"])
    assert dry.exit_code == 0 and "would report: broken, hopeless, quiet" in dry.output
    sent = runner.invoke(app, ["sources", "alert"])
    assert sent.exit_code == 0, sent.output
    assert "reported by email: broken, hopeless, quiet" in sent.output
    assert list((settings.data_dir / "outbox").glob("*.eml"))
    assert "no new incident" in runner.invoke(app, ["sources", "alert"]).output


def test_each_story_records_what_found_it_and_how_late(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        tg, _ = queries.upsert_source(
            session=session, name="tg-news", url="https://t.me/s/news", kind=SourceKind.TELEGRAM
        )
        session.flush()
        story_id = queries.insert_story_if_new(
            session=session,
            record=story_record(
                9001,
                "https://t.me/news/1",
                source_id=tg.id,
                published_at=NOW - timedelta(minutes=30),
                fetched_at=NOW,
            ),
        )
        undated = queries.insert_story_if_new(
            session=session, record=story_record(9002, "https://t.me/news/2", source_id=tg.id)
        )
    with factory() as session:
        story = session.get(Story, story_id)
        assert story is not None and story.found_kind == "telegram"
        assert story.found_delay_seconds == 30 * 60
        later = session.get(Story, undated)
        assert later is not None and later.found_delay_seconds is None
        by_kind = {r.label: r for r in found_delays(session)}
    assert by_kind["telegram"].stories == 2 and by_kind["telegram"].timed == 1
    assert by_kind["telegram"].median == timedelta(minutes=30)
    assert by_kind["feed"].stories == 24  # quiet's stories, a day apart, 6 to 29 days old
    assert by_kind["feed"].median is not None and by_kind["feed"].median.days == 17

    removed = runner.invoke(app, ["sources", "remove", "tg-news", "--yes"])
    assert removed.exit_code == 0, removed.output
    listed = runner.invoke(app, ["sources", "delays"], env={"COLUMNS": "120"})
    assert listed.exit_code == 0, listed.output
    assert re.search(r"telegram\s*│\s*2\s*│\s*1\s*│\s*30 min", listed.output), listed.output
