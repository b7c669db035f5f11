"""The digest email and the subscribe flow in headless Chromium (Debian's package, via playwright).

The digest is rendered exactly as sent and checked the way a reader would
see it at 600 px, a common mail-client width: every entry on screen, nothing
wider than the window, Cyrillic (Russian and Tajik letters) drawn as glyphs
rather than empty boxes, highlights visible, and nothing loaded from outside.
Screenshots are written next to the test's temporary files.
"""

from __future__ import annotations

import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import send_due_digests
from alerts.senders import MockSender
from core.settings import Settings
from db.models import Cluster, Story
from db.session import unit_of_work
from tests.browser import chromium
from tests.test_digest_fixtures import NOW, TOKENS, match, story, subscribe, topic
from web.app import create_app

pytestmark = pytest.mark.browser
LONG_WORD = "Представительство" * 8  # one unbreakable word wider than the window


def _digest_html(factory: sessionmaker[Session], settings: Settings) -> str:
    with unit_of_work(factory) as session:
        subscribe(session, "desk@newsroom.example", timezone="Asia/Dushanbe")
        cluster = Cluster(size=2, languages={"ru": 1, "tg": 1})
        session.add(cluster)
        session.flush()
        story(
            session,
            1,
            "МВД Таджикистана откроет представительство в Москве",
            body="Представительство МВД Таджикистана будет работать в Москве. " * 4,
            cluster=cluster.id,
        )
        story(
            session,
            2,
            "ВКД дар Маскав намояндагӣ мекушояд",
            source="akhbor",
            language="tg",
            body="МВД: намояндагии Ҷумҳурии Тоҷикистон дар Маскав.",
            cluster=cluster.id,
        )
        story(
            session,
            3,
            "Russia's MVD opens a police liaison office in Dushanbe",
            source="wire",
            language="en",
            body="The MVD office will coordinate cases. " + LONG_WORD,
        )
        hostile = story(session, 4, "МВД <img src=https://tracker.example/p.gif> & co")
        row = session.get(Story, hostile)
        assert row is not None
        row.canonical_url = row.url = "https://herald.example/" + "a" * 300
    match(factory)
    sender = MockSender()
    send_due_digests(factory, settings, sender, now=NOW, tokens=TOKENS)
    [message] = sender.sent
    return message.html


def _glyph_pixels(page: Any, text: str) -> str:
    """What the browser draws for ``text`` in the digest's font, as a data URL."""
    return str(
        page.evaluate(
            """(text) => {
                const canvas = document.createElement('canvas');
                canvas.width = 200; canvas.height = 60;
                const ctx = canvas.getContext('2d');
                ctx.font = "32px Georgia, 'Times New Roman', serif";
                ctx.fillText(text, 4, 40);
                return canvas.toDataURL();
            }""",
            text,
        )
    )


def test_digest_layout_at_600px(
    session_factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")
    html = _digest_html(session_factory, settings)
    outside: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 600, "height": 900})
        page.on("request", lambda request: outside.append(request.url))
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(tmp_path / "digest-600.png"), full_page=True)

        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"horizontal overflow at 600px: {widths}"
        entries = page.locator("td.entry")
        assert entries.count() == 3  # the two-outlet cluster is one entry
        for index in range(entries.count()):
            box = entries.nth(index).bounding_box()
            assert box is not None and box["width"] > 300 and box["x"] >= 0
            assert box["x"] + box["width"] <= 600
            assert entries.nth(index).locator("h2").inner_text().strip()
        marks = page.locator("mark")
        assert marks.count() >= 3 and marks.first.is_visible()
        assert "Also reported by 1 outlet" in page.inner_text("body")
        assert page.locator("img").count() == 0  # the stored <img> is text, not an image

        # Cyrillic letters are drawn as distinct glyphs, not as identical "missing" boxes.
        assert _glyph_pixels(page, "ЖЖЖ") != _glyph_pixels(page, "ШШШ")
        assert _glyph_pixels(page, "ҷҳӯ") != _glyph_pixels(page, "\u0378\u0378\u0378")
    assert outside == [], f"the digest loaded something: {outside}"


@pytest.fixture
def live_app(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[tuple[str, Settings]]:
    with unit_of_work(session_factory) as session:
        topic(session)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url=base)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield base, settings
    server.should_exit = True
    thread.join(timeout=10)


def _outbox(settings: Settings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    found = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_subscribe_then_confirm_in_the_browser(
    live_app: tuple[str, Settings], tmp_path: Path
) -> None:
    base, settings = live_app
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 600, "height": 900})
        page.goto(base + "/subscribe")
        page.fill("input[name=email]", "reader@newsroom.example")
        page.select_option("select[name=frequency]", "daily")
        page.select_option("select[name=hour]", "9")
        page.select_option("select[name=timezone]", "Asia/Dushanbe")
        assert page.is_checked("input[name=topics][value=mvd]")
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"the form overflows at 600px: {widths}"
        page.screenshot(path=str(tmp_path / "subscribe.png"), full_page=True)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Check your inbox")

        [confirmation] = _outbox(settings)
        text = confirmation.get_body(preferencelist=("plain",))
        assert isinstance(text, EmailMessage)
        link = re.search(r"(http://127\.0\.0\.1:\d+/confirm/\S+)", text.get_content())
        assert link, text.get_content()
        page.goto(link.group(1))
        page.click("button[type=submit]")
        page.wait_for_selector("text=Subscribed")
        assert "MVD offices (daily)" in page.inner_text("main")
        page.click("text=Change your preferences")
        page.wait_for_url("**/preferences/*")
        assert page.is_checked("input[name=active][value=mvd]")
        assert page.input_value("select[name=timezone]") == "Asia/Dushanbe"
        page.screenshot(path=str(tmp_path / "preferences.png"), full_page=True)
