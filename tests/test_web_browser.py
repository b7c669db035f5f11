"""The web UI in headless Chromium (Debian's package, driven by playwright)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from core.settings import Settings
from db import queries
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.browser import chromium
from tests.event_reports import OFFICE, store_reports
from tests.factories import story_record
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(tmp_path: Path, database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        for n, title in enumerate(
            [
                "МВД Таджикистана откроет представительство в Москве",
                "Погода в Душанбе",
                "<b>bold</b> & co",
            ]
        ):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    n,
                    f"https://h.example/{n}",
                    source_id=source.id,
                    title=title,
                    body=f"{title}. <script>window.pwned=1</script>",
                    language="ru",
                    published_at=datetime(2026, 11, 20 + n, tzinfo=UTC),
                ),
            )
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(Settings(data_dir=tmp_path, database_url=database_url)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_search_and_open_a_story(live_app: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.goto(live_app + "/")
        assert page.locator(".story").count() == 3
        page.fill("input[name=q]", "представительства AND Москве")
        page.click("button[type=submit]")
        page.wait_for_url("**/?q=*")
        assert page.locator(".story").count() == 1
        page.click(".story h2 a")
        page.wait_for_url("**/stories/*")
        assert "МВД Таджикистана" in page.locator("h1").inner_text()
        assert page.evaluate("window.pwned === undefined")  # stored script did not run
        page.screenshot(path=str(tmp_path / "story.png"))
        page.goto(live_app + "/")
        assert "<b>bold</b> & co" in page.content().replace("&lt;", "<").replace(
            "&gt;", ">"
        ).replace("&amp;", "&")
        assert page.locator("b", has_text="bold").count() == 0  # shown as text, not markup


ADMIN_TOKEN = "browser-admin-token-0123456789"


@pytest.fixture
def archive_app(tmp_path: Path, database_url: str) -> Iterator[tuple[str, str]]:
    """A live app with 45 stories, one of them hostile, and a fixture news site to crawl."""
    from wirewatch.demo_site.server import FixtureSite

    engine = make_engine(database_url)
    with FixtureSite() as site, unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        queries.upsert_source(
            session=session, name="asia-wire", url=site.feed_url("asia-wire"), language="en"
        )
        for n in range(45):
            title = f"Мигранты и МВД, выпуск {n}"
            if n == 7:
                title = '<img src=x onerror="alert(1)"> мигранты <script>alert(2)</script>'
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    n,
                    f"https://h.example/b{n}",
                    source_id=source.id,
                    title=title,
                    body=f"Трудовых мигрантов {n} <svg onload=alert(3)>",
                    language="ru",
                    published_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
                ),
            )
        session.commit()
        engine.dispose()
        settings = Settings(
            data_dir=tmp_path,
            database_url=database_url,
            admin_token=ADMIN_TOKEN,
            allow_private_hosts=["127.0.0.1"],
            download_delay=0,
        )
        app = create_app(settings)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", ADMIN_TOKEN
        app.state.crawls.wait(timeout=120)
        server.should_exit = True
        thread.join(timeout=10)


def test_paginate_search_then_crawl_and_watch_it_finish(
    archive_app: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import Dialog

    base, token = archive_app
    dialogs: list[str] = []
    with chromium() as browser:
        page = browser.new_page()

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(base + "/?limit=20")
        page.fill("input[name=q]", "мигрантов")
        page.click("button[type=submit]")
        page.wait_for_url("**/?q=*")
        first = [t.strip() for t in page.locator(".story h2").all_inner_texts()]
        assert len(first) == 20 and page.locator(".story mark").count() >= 20
        page.click("a[rel=next]")
        page.wait_for_url("**cursor=*")
        second = [t.strip() for t in page.locator(".story h2").all_inner_texts()]
        assert len(second) == 20 and not set(first) & set(second)
        page.click("a[rel=next]")
        third = [t.strip() for t in page.locator(".story h2").all_inner_texts()]
        assert len(third) == 5 and page.locator("a[rel=next]").count() == 0
        page.click(".story h2 a >> nth=0")
        page.wait_for_url("**/stories/*")
        assert (
            "Мигранты" in page.locator("h1").inner_text()
            or "мигранты" in page.locator("h1").inner_text()
        )

        page.goto(base + "/sources")
        assert page.locator("button.crawl-now").count() == 0  # not logged in
        page.goto(base + "/login?next=/sources")
        page.fill("input[name=token]", token)
        page.click("form.admin button[type=submit]")
        page.wait_for_url("**/sources")
        page.locator("tr", has_text="asia-wire").locator("button.crawl-now").click()
        page.wait_for_url("**/crawls/*")
        page.wait_for_function(
            "() => ['succeeded', 'partial', 'failed'].includes("
            "document.getElementById('status').textContent)",
            timeout=120_000,
        )
        assert page.locator("#status").inner_text() == "succeeded"
        assert int(page.locator("#new").inner_text()) > 0
        page.screenshot(path=str(tmp_path / "crawl.png"))
        page.goto(base + "/?source=asia-wire")
        assert page.locator(".story").count() > 0
    assert dialogs == []  # no stored script ran


@pytest.fixture
def event_app(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, int]]]:
    """A live app whose archive holds one event reported in Russian, English and Tajik."""
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        ids = store_reports(session, OFFICE)
    engine.dispose()
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=ADMIN_TOKEN)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ids
    server.should_exit = True
    thread.join(timeout=10)


def test_a_story_page_lists_its_events_reports_in_every_language(
    event_app: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    base, ids = event_app
    with chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/")
        assert page.locator(".story").count() == 1  # one entry for the four reports
        entry = page.locator(".story .meta").inner_text()
        assert "also reported by 3 outlets" in entry
        page.click(".story .meta a")
        page.wait_for_url("**/stories/*#event")
        rows = page.locator("table.reports tr")
        assert rows.count() == 5  # a header and four reports
        languages = {rows.nth(n).locator("td").nth(2).inner_text() for n in range(1, rows.count())}
        assert languages == {"ru", "en", "tg"}
        assert page.locator("table.reports tr.current").count() == 1
        page.screenshot(path=str(tmp_path / "event-story.png"))

        page.locator("table.reports a", has_text="Tajikistan opens police liaison office").click()
        page.wait_for_url(f"**/stories/{ids['office-en']}")
        current = page.locator("table.reports tr.current").inner_text()
        assert "asia-wire" in current and "(this report)" in current

        page.goto(base + f"/login?next=/stories/{ids['office-en']}")
        page.fill("input[name=token]", ADMIN_TOKEN)
        page.click("form.admin button[type=submit]")
        page.wait_for_url(f"**/stories/{ids['office-en']}")
        page.locator("button", has_text="Split this report into an event of its own").click()
        page.wait_for_url("**/events/*")
        assert "1 report from 1 outlet (en 1)" in page.locator("main").inner_text()
        assert "placed by an operator" in page.locator("table.reports").inner_text()
