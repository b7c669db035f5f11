"""`/api/docs` renders Swagger UI from the installed package, with nothing fetched elsewhere."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from core.settings import Settings
from tests.browser import chromium
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    from db.migrate import upgrade

    upgrade(settings.database_url)
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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_swagger_ui_renders_the_operations_offline(live_app: str) -> None:
    requested: list[str] = []
    problems: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        page.goto(live_app + "/api/docs")
        page.wait_for_selector(".opblock", timeout=15000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        title = page.locator(".info .title").inner_text()
    assert "wirewatch" in title
    assert any(path.startswith("/api/stories") for path in paths), paths
    origin = urlsplit(live_app).netloc
    elsewhere = [url for url in requested if urlsplit(url).netloc not in (origin, "")]
    assert elsewhere == [], elsewhere
    assert problems == [], problems
    assert any(url.endswith("/api/openapi.json") for url in requested)
