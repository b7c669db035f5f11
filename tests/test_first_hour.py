"""The first hour as the README tells it: the demo, its web app, the README's examples.

One demo (`wirewatch demo --serve`, as `make demo` runs it) is started for the
module, in a child process with its fixture site, web app and scheduler, on a
temporary data folder. Then the README's "Try it on the demo data" commands
run as written against the demo's archive, and headless Chromium walks what a
newcomer does next: open the digest's links, browse, search with the README's
query, subscribe, confirm, receive the digest in the outbox, unsubscribe.
Every page it opens is checked: an answer of 200, a heading, no errors in the
console and nothing loaded from another host.
"""

from __future__ import annotations

import email
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import chromium
from tests.conftest import ROOT

README = ROOT / "README.md"
DEMO_SECTION = "## Try it on the demo data"
QUERY = "@tj-interior-ministry AND (Москва OR Moscow)"


@dataclass
class Demo:
    url: str
    data_dir: Path  # what WIREWATCH_DATA_DIR=data/demo names in the README
    log: Path

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("first-hour")
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("WIREWATCH_") and name not in ("SENDGRID_API_KEY", "SMTP_URL")
    }
    env |= {
        "WIREWATCH_DATA_DIR": str(base / "data"),
        # New subscribers' digests within seconds instead of a minute.
        "WIREWATCH_SCHEDULER_TICK_SECONDS": "2",
        "PYTHONPATH": str(ROOT),
    }
    log = base / "demo.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "demo", "--serve", "--port", str(port)],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if process.poll() is not None:
                pytest.fail(f"the demo stopped: {log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the demo never served: {log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield Demo(url=url, data_dir=base / "data" / "demo", log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def readme_demo_commands() -> list[str]:
    """The `wirewatch ...` lines of the README's demo block, continuations joined."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(DEMO_SECTION) :]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines: list[str] = []
    pending = ""
    for raw in block.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        lines.append(line)
    return [line for line in lines if line.startswith("wirewatch ")]


def run_cli(demo: Demo, line: str) -> subprocess.CompletedProcess[str]:
    words = shlex.split(line, comments=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIREWATCH_")}
    env |= {"WIREWATCH_DATA_DIR": str(demo.data_dir), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *words[1:]],
        check=False,
        cwd=demo.data_dir.parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_names_the_demo_archive_and_its_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "export WIREWATCH_DATA_DIR=data/demo" in text
    commands = readme_demo_commands()
    assert any(QUERY in line for line in commands)
    assert any(line.startswith("wirewatch subscribe ") for line in commands)


# The demo (a crawl) and nine commands, each a fresh process: minutes on a busy machine.
@pytest.mark.timeout(1200)
def test_readme_examples_work_on_the_demo_as_written(demo: Demo) -> None:
    for line in readme_demo_commands():
        result = run_cli(demo, line)
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, line
        if QUERY in line:
            # The README: "finds stories in Russian and in English".
            languages = set(re.findall(r"│ (ru|en|tg) +│", result.stdout))
            assert {"ru", "en"} <= languages, result.stdout
        if line.startswith("wirewatch search 'Tajikistan"):
            assert "asia-wire" in result.stdout
            assert re.search(r"│ ru +│", result.stdout) is None
        if line.startswith("wirewatch topics preview"):
            assert "МВД" in result.stdout
        if line.startswith("wirewatch subscriptions list"):
            assert "editor@example.org" in result.stdout
            assert "newsroom@wirewatch.example" in result.stdout


def _messages(outbox: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _wait_for_message(outbox: Path, to: str, subject: str, timeout: float = 90) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in _messages(outbox):
            if to in str(message["To"]) and subject.lower() in str(message["Subject"]).lower():
                return message
        time.sleep(0.5)
    raise AssertionError(f"no message to {to} about {subject!r} in {outbox}")


class PageChecker:
    """Opens pages and checks each: 200, a heading, a quiet console, this host only."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = urlsplit(origin).netloc
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        self.visited: list[str] = []
        page.on("console", self._console)
        page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _request(self, request: Any) -> None:
        if urlsplit(request.url).netloc not in (self.origin, ""):
            self.elsewhere.append(request.url)

    def check(self, heading: str | None = None) -> None:
        self.visited.append(self.page.url)
        assert self.page.locator("h1").count() >= 1, self.page.url
        if heading is not None:
            assert heading in self.page.locator("h1").first.inner_text(), self.page.url
        assert self.errors == [], (self.page.url, self.errors)
        assert self.elsewhere == [], (self.page.url, self.elsewhere)

    def open(self, url: str, heading: str | None = None) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (url, response)
        self.check(heading)

    def submit(self, selector: str, heading: str | None = None) -> None:
        with self.page.expect_navigation() as navigation:
            self.page.click(selector)
        response = navigation.value
        assert response is not None and response.status == 200, self.page.url
        self.check(heading)


@pytest.mark.browser
@pytest.mark.timeout(900)
def test_the_first_hour_in_the_browser(demo: Demo) -> None:
    digest = _messages(demo.outbox)
    assert digest, "the demo wrote no digest"
    story_links = re.findall(r'href="(http://[^"]+/stories/\d+)"', _html(digest[0]))
    assert story_links and all(link.startswith(demo.url) for link in story_links)
    with chromium() as browser:
        page = browser.new_page()
        pages = PageChecker(page, demo.url)

        # The digest's links open the stories it lists, on the demo's web app.
        pages.open(story_links[0])
        assert page.locator("h1").first.inner_text().strip() in _text(digest[0])

        # Browse the archive.
        pages.open(demo.url + "/")
        assert page.locator(".story").count() >= 10

        # Search with the README's query: Russian and English reports.
        page.fill("input[name=q]", QUERY)
        pages.submit("button[type=submit]")
        titles = page.locator(".story h2").all_inner_texts()
        assert len(titles) >= 3, titles
        assert any(re.search("[А-Яа-яЁё]{4}", title) for title in titles), titles
        assert any(re.fullmatch(r"[A-Za-z0-9 ,.'-]+", title.strip()) for title in titles), titles

        # Subscribe, confirm from the email, get the digest, unsubscribe.
        pages.open(demo.url + "/subscribe", "digest")
        page.fill("input[name=email]", "reader@example.org")
        page.select_option("select[name=frequency]", "instant")
        pages.submit("button.primary")
        confirmation = _wait_for_message(demo.outbox, "reader@example.org", "confirm")
        confirm_link = re.search(r"http://[^\s\"<>]+/confirm/[^\s\"<>]+", _html(confirmation))
        assert confirm_link is not None
        pages.open(confirm_link.group(0), "Confirm")
        pages.submit("button.primary", "Subscribed")
        received = _wait_for_message(demo.outbox, "reader@example.org", "")
        deadline = time.monotonic() + 90
        while "confirm" in str(received["Subject"]).lower() and time.monotonic() < deadline:
            time.sleep(0.5)
            received = next(
                (
                    m
                    for m in _messages(demo.outbox)
                    if "reader@example.org" in str(m["To"])
                    and "confirm" not in str(m["Subject"]).lower()
                ),
                received,
            )
        assert "confirm" not in str(received["Subject"]).lower(), "no digest after confirming"
        body = _html(received)
        assert "/stories/" in body
        unsubscribe = re.search(r"http://[^\s\"<>]+/u/[^\s\"<>]+", body)
        assert unsubscribe is not None
        pages.open(unsubscribe.group(0), "Unsubscribe?")
        pages.submit("button.primary", "Unsubscribed")
    assert len(pages.visited) >= 8
