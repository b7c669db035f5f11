"""The web UI in headless Chromium (Debian's package, driven by playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from db import queries
from db.session import make_engine, make_sessionmaker, unit_of_work
from web.app import create_app
from wirewatch.settings import Settings

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_or_skip() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("WIREWATCH_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is not installed (mandatory because WIREWATCH_REQUIRE_BROWSER=1)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


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
                record=queries.StoryRecord(
                    url_key=f"{n:064d}",
                    canonical_url=f"https://h.example/{n}",
                    url=f"https://h.example/{n}",
                    canonicalizer_version=1,
                    guid=None,
                    source_id=source.id,
                    title=title,
                    body=f"{title}. <script>window.pwned=1</script>",
                    summary="",
                    authors=[],
                    language="ru",
                    published_at=datetime(2026, 11, 20 + n, tzinfo=UTC),
                    published_estimated=False,
                    fetched_at=datetime.now(UTC),
                    fingerprint=f"{n:064x}",
                    extraction_method="feed",
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
    executable = _browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
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
        browser.close()
