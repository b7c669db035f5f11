"""`sources add` / `sources remove`, the admin form and the API, against a real fixture site.

The address is fetched before anything is saved (both engines): what is found
is said, a page naming its feed is offered, what is no source is refused in one
line and not stored, an existing name is kept unless replaced.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from db import queries
from db.models import Source, SourceKind
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.browser import chromium
from tests.factories import story_record
from tests.servers.sites import StaticSite, static_site
from tests.source_sites import closed_port, pages
from web.app import create_app

TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BROWSER = {"accept": "text/html"}
runner = CliRunner()
_register_commands()


@pytest.fixture(scope="module")
def site() -> Iterator[StaticSite]:
    with static_site(pages()) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        admin_token=TOKEN,
        allow_private_hosts=["127.0.0.1"],
    )
    reset_context(AppContext(settings=settings))
    assert runner.invoke(app, ["init", "--no-sources"]).exit_code == 0
    yield settings
    reset_context(None)


def _sources(settings: Settings) -> dict[str, tuple[SourceKind, str]]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {s.name: (s.kind, s.url) for s in queries.list_sources(session=session)}
    finally:
        engine.dispose()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_says_what_it_found_and_names_the_source_after_the_host(
    settings: Settings, site: StaticSite
) -> None:
    added = runner.invoke(app, ["sources", "add", site.url("/atom.xml")])
    assert added.exit_code == 0, added.output
    out = _flat(added.output)
    assert "found Atom feed 'Asia Wire' with 1 entry" in out
    assert f"added source 127.0.0.1 (feed): {site.url('/atom.xml')}" in out

    again = runner.invoke(app, ["sources", "add", site.url("/sitemap.xml")])
    assert again.exit_code == 1
    assert "a source named '127.0.0.1' already exists" in _flat(again.output)
    replaced = runner.invoke(app, ["sources", "add", site.url("/sitemap.xml"), "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert "replaced source 127.0.0.1 (sitemap)" in _flat(replaced.output)

    named = runner.invoke(
        app, ["sources", "add", site.url("/news"), "--name", "ministry", "--lang", "tg"]
    )
    assert named.exit_code == 0, named.output
    assert "found a section page 'Ministry news' with 12 article links" in _flat(named.output)
    old_order = runner.invoke(app, ["sources", "add", "json-wire", site.url("/feed.json")])
    assert old_order.exit_code == 0, old_order.output
    telegram = runner.invoke(app, ["sources", "add", "https://t.me/s/asiaplus"])
    assert telegram.exit_code == 0, telegram.output
    assert _sources(settings) == {
        "127.0.0.1": (SourceKind.SITEMAP, site.url("/sitemap.xml")),
        "ministry": (SourceKind.SECTION, site.url("/news")),
        "json-wire": (SourceKind.FEED, site.url("/feed.json")),
        "tg-asiaplus": (SourceKind.TELEGRAM, "https://t.me/s/asiaplus"),
    }


def test_cli_offers_the_feed_a_page_names(settings: Settings, site: StaticSite) -> None:
    taken = runner.invoke(app, ["sources", "add", site.url("/"), "--name", "herald", "--yes"])
    assert taken.exit_code == 0, taken.output
    assert "naming the feed" in _flat(taken.output)
    asked = runner.invoke(app, ["sources", "add", site.url("/"), "--name", "h2"], input="y\n")
    assert asked.exit_code == 0 and "instead of the page?" in asked.output
    declined = runner.invoke(app, ["sources", "add", site.url("/"), "--name", "h3"], input="n\n")
    assert declined.exit_code == 0, declined.output
    assert _sources(settings) == {
        "herald": (SourceKind.FEED, site.url("/rss.xml")),
        "h2": (SourceKind.FEED, site.url("/rss.xml")),
        "h3": (SourceKind.SECTION, site.url("/")),
    }


def test_cli_refuses_what_is_no_source_in_one_line(settings: Settings, site: StaticSite) -> None:
    port = closed_port()
    cases = {
        site.url("/missing.xml"): "HTTP 404: Not Found",
        site.url("/about"): "not a feed: an HTML page that names no feed",
        f"http://127.0.0.1:{port}/rss.xml": f"connection refused by 127.0.0.1:{port}",
        "http://herald.invalid/rss.xml": "DNS: the host herald.invalid does not resolve",
    }
    for url, why in cases.items():
        refused = runner.invoke(app, ["sources", "add", url, "--name", "bad"])
        assert refused.exit_code == 1, url
        assert why in _flat(refused.output), refused.output
        assert f"{url} was not added" in _flat(refused.output)
    assert _sources(settings) == {}
    offline = runner.invoke(
        app, ["sources", "add", "http://herald.invalid/rss.xml", "--name", "later", "--no-check"]
    )
    assert offline.exit_code == 0, offline.output
    assert _sources(settings) == {"later": (SourceKind.FEED, "http://herald.invalid/rss.xml")}


def test_remove_keeps_the_stories_and_asks_first(settings: Settings, site: StaticSite) -> None:
    assert (
        runner.invoke(app, ["sources", "add", site.url("/rss.xml"), "--name", "herald"]).exit_code
        == 0
    )
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            source = queries.get_source(session=session, name="herald")
            queries.insert_story_if_new(
                session=session,
                record=story_record(1, "http://herald.test/1", source_id=source.id),
            )
        kept = runner.invoke(app, ["sources", "remove", "herald"], input="n\n")
        assert kept.exit_code == 1 and "1 story stays in the archive" in _flat(kept.output)
        gone = runner.invoke(app, ["sources", "remove", "herald", "--yes"])
        assert gone.exit_code == 0, gone.output
        assert "its 1 stories stay" in gone.output or "stay in the archive" in gone.output
        with make_sessionmaker(engine)() as session:
            assert session.query(Source).count() == 0
            assert queries.count_stories(session=session) == 1
    finally:
        engine.dispose()
    missing = runner.invoke(app, ["sources", "remove", "herald", "--yes"])
    assert missing.exit_code == 1 and "no source named 'herald'" in missing.output


def _login(client: TestClient) -> str:
    answer = client.post(
        "/login", data={"token": TOKEN, "next": "/sources"}, follow_redirects=False
    )
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/sources").text)
    assert found
    return found.group(1)


def test_the_form_keeps_what_was_typed_and_shows_the_error_beside_the_field(
    settings: Settings, site: StaticSite
) -> None:
    with TestClient(create_app(settings)) as client:
        csrf = _login(client)
        typed = {
            "csrf": csrf,
            "url": site.url("/missing.xml"),
            "name": "typed-name",
            "language": "ru",
        }
        refused = client.post("/sources", data=typed, headers=BROWSER, follow_redirects=False)
        assert refused.status_code == 422
        page = html.unescape(refused.text)
        assert f'value="{site.url("/missing.xml")}"' in page and 'value="typed-name"' in page
        error = re.search(
            r'<span class="field-error" id="url-error" role="alert">([^<]+)</span>', page
        )
        assert error and "HTTP 404" in error.group(1)
        assert 'aria-describedby="url-error"' in page

        offered = client.post(
            "/sources", data={"csrf": csrf, "url": site.url("/")}, headers=BROWSER
        )
        assert offered.status_code == 200
        text = html.unescape(offered.text)
        assert "naming the feed" in text and 'name="take_feed" value="true"' in text
        form = {"csrf": csrf, "url": site.url("/"), "name": "herald", "take_feed": "true"}
        assert client.post("/sources", data=form, follow_redirects=False).status_code == 303
        form = {"csrf": csrf, "url": site.url("/"), "name": "herald-page", "take_feed": "false"}
        assert client.post("/sources", data=form, follow_redirects=False).status_code == 303
        again = client.post("/sources", data=form, headers=BROWSER, follow_redirects=False)
        assert again.status_code == 422 and 'id="name-error"' in again.text

        api = client.post("/api/sources", json={"url": site.url("/")}, headers=ADMIN)
        assert api.status_code == 422 and "take that feed" in api.json()["detail"]
        api = client.post(
            "/api/sources",
            json={"url": site.url("/"), "name": "api-feed", "take_feed": True},
            headers=ADMIN,
        )
        assert api.status_code == 201 and api.json()["kind"] == "feed"
        api = client.post("/api/sources", json={"url": site.url("/about")}, headers=ADMIN)
        assert api.status_code == 422 and "names no feed" in api.json()["detail"]
    assert _sources(settings) == {
        "herald": (SourceKind.FEED, site.url("/rss.xml")),
        "herald-page": (SourceKind.SECTION, site.url("/")),
        "api-feed": (SourceKind.FEED, site.url("/rss.xml")),
    }


@pytest.mark.browser
def test_the_form_in_a_browser(settings: Settings, site: StaticSite) -> None:
    """Headless Chromium: a refused address comes back typed in, the error beside it; the
    feed a page names is offered and taken with one click."""
    port = closed_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(base + "/login?next=/sources")
            page.fill("input[name=token]", TOKEN)
            page.click("form.admin button[type=submit]")
            page.wait_for_url("**/sources")
            page.fill("#add-source input[name=url]", site.url("/about"))
            page.fill("#add-source input[name=name]", "typed")
            page.click("#add-source button[type=submit]")
            page.wait_for_selector("#url-error")
            assert page.input_value("#add-source input[name=url]") == site.url("/about")
            assert page.input_value("#add-source input[name=name]") == "typed"
            assert "names no feed" in page.inner_text("#url-error")

            page.fill("#add-source input[name=url]", site.url("/"))
            page.fill("#add-source input[name=name]", "herald")
            page.click("#add-source button[type=submit]")
            page.wait_for_selector(".offer")
            page.click(".offer button[value=true]")
            page.wait_for_selector('tr[data-name="herald"]')
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert _sources(settings) == {"herald": (SourceKind.FEED, site.url("/rss.xml"))}
