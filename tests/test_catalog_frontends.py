"""The CLI, the admin forms and the API refuse the same sources and topics, with one message.

Each bad input is refused by ``wirewatch sources add`` / ``topics add`` (exit
1), by the logged-in admin form (422, the message on the page) and by the
JSON API (422), and none of them stores anything; good inputs are accepted by
all three. The message is the catalog's own, so it is compared word for word.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.errors import WirewatchError
from core.netguard import AddressPolicy
from core.settings import Settings
from db import queries
from db.session import make_engine, make_sessionmaker
from web.app import create_app
from wirewatch import catalog

TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
BROWSER = {"accept": "text/html"}
runner = CliRunner()
_register_commands()

# name, url, language
BAD_SOURCES = [
    ("", "https://a.example/rss.xml", ""),
    ("empty", "", ""),
    ("a/b", "https://a.example/rss.xml", ""),
    ("with space", "https://a.example/rss.xml", ""),
    ("-lead", "https://a.example/rss.xml", ""),
    ("local", "http://10.0.0.1/rss.xml", ""),
    ("meta", "http://[::ffff:169.254.169.254]/", ""),
    ("script", "javascript:alert(1)", ""),
    ("files", "file:///etc/passwd", ""),
    ("lang", "https://a.example/rss.xml", "russian"),
]
# slug, name, query
BAD_TOPICS = [
    ("", "Bad", "МВД"),
    ("no-query", "No query", ""),
    ("Bad Slug With Spaces", "Bad", "МВД"),
    ("under_score", "Bad", "МВД"),
    ("a/b", "Bad", "МВД"),
    ("broken", "Broken", "(МВД OR"),
    ("nameless", "   ", "МВД"),
]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=TOKEN)
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _words(text: str) -> str:
    return " ".join(text.split())


def _message(check: object, **fields: object) -> str:
    """What the catalog itself says about these fields."""
    assert callable(check)
    with pytest.raises(WirewatchError) as refused:
        check(**fields)
    return _words(str(refused.value))


def _source_message(name: str, url: str, language: str) -> str:
    return _message(
        catalog.check_source,
        name=name,
        url=url,
        language=language,
        default_interval=30,
        policy=AddressPolicy(),
    )


def _login(client: TestClient, page: str) -> str:
    """Log in with the admin token; the CSRF token of the admin forms on ``page``."""
    answer = client.post("/login", data={"token": TOKEN, "next": page}, follow_redirects=False)
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found, "no CSRF field on the admin page"
    return found.group(1)


def _stored(settings: Settings) -> tuple[set[str], set[str]]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            sources = {s.name for s in queries.list_sources(session=session)}
            topics = {t.slug for t in queries.list_topics(session=session)}
    finally:
        engine.dispose()
    return sources, topics


@pytest.mark.parametrize(("name", "url", "language"), BAD_SOURCES)
def test_a_bad_source_is_refused_alike_everywhere(
    settings: Settings, client: TestClient, name: str, url: str, language: str
) -> None:
    message = _source_message(name, url, language)

    lang = ["--lang", language] if language else []
    by_cli = runner.invoke(app, ["sources", "add", *lang, "--", name, url])
    assert by_cli.exit_code == 1, by_cli.output
    assert message in _words(by_cli.output)

    if name:  # the form names a source after its host when the name is left empty
        csrf = _login(client, "/sources")
        form = {"csrf": csrf, "name": name, "url": url, "kind": "feed", "language": language}
        by_form = client.post("/sources", data=form, headers=BROWSER, follow_redirects=False)
        assert by_form.status_code == 422
        page = html.unescape(by_form.text)
        assert message in _words(page)
        assert f'value="{url}"' in page  # what was typed comes back

    body = {"name": name, "url": url, **({"language": language} if language else {})}
    by_api = client.post("/api/sources", json=body, headers=ADMIN)
    assert by_api.status_code == 422
    # The API's schema publishes the name and language rules, so pydantic may answer first.
    detail = by_api.json()["detail"]
    if isinstance(detail, str):
        assert _words(detail) == message

    assert _stored(settings) == (set(), set())


@pytest.mark.parametrize(("slug", "name", "query"), BAD_TOPICS)
def test_a_bad_topic_is_refused_alike_everywhere(
    settings: Settings, client: TestClient, slug: str, name: str, query: str
) -> None:
    message = _message(catalog.check_topic, slug=slug, name=name, query=query)

    by_cli = runner.invoke(app, ["topics", "add", "--name", name, "--query", query, "--", slug])
    assert by_cli.exit_code == 1, by_cli.output
    assert message in _words(by_cli.output)

    csrf = _login(client, "/topics")
    form = {"csrf": csrf, "slug": slug, "name": name, "query": query}
    by_form = client.post("/topics", data=form, headers=BROWSER, follow_redirects=False)
    assert by_form.status_code == 422
    page = html.unescape(by_form.text)
    assert message in _words(page)
    assert f'value="{slug}"' in page  # the form comes back filled in

    if re.fullmatch(catalog.TOPIC_SLUG_PATTERN, slug):
        by_api = client.put(
            f"/api/topics/{slug}", json={"slug": slug, "name": name, "query": query}, headers=ADMIN
        )
        assert by_api.status_code == 422
        detail = by_api.json()["detail"]
        if isinstance(detail, str):  # else pydantic answered first, by the published limits
            assert _words(detail) == message

    assert _stored(settings) == (set(), set())


def test_good_sources_and_topics_are_accepted_everywhere(
    settings: Settings, client: TestClient
) -> None:
    by_cli = runner.invoke(
        app,
        ["sources", "add", "cli-wire", "https://cli.example/rss.xml", "--lang", "en", "--no-check"],
    )
    assert by_cli.exit_code == 0, by_cli.output
    topic = runner.invoke(app, ["topics", "add", "cli-topic", "--query", "МВД"])
    assert topic.exit_code == 0, topic.output

    csrf = _login(client, "/sources")
    form = {"csrf": csrf, "name": "tg.asia_plus", "url": "@asiaplus", "kind": "telegram"}
    assert client.post("/sources", data=form, follow_redirects=False).status_code == 303
    form = {"csrf": csrf, "slug": "form-topic", "name": " Form topic ", "query": "police"}
    assert client.post("/topics", data=form, follow_redirects=False).status_code == 303

    source = {
        "name": "api-wire",
        "url": "https://api.example/rss.xml",
        "language": "pt-BR",
        "check": False,
    }
    assert client.post("/api/sources", json=source, headers=ADMIN).status_code == 201
    body = {"slug": "api-topic", "name": "API", "query": "МВД OR police"}
    assert client.put("/api/topics/api-topic", json=body, headers=ADMIN).status_code == 201

    assert _stored(settings) == (
        {"cli-wire", "tg.asia_plus", "api-wire"},
        {"cli-topic", "form-topic", "api-topic"},
    )
    listed = {s["name"]: s for s in client.get("/api/sources").json()}
    assert listed["tg.asia_plus"]["url"] == "https://t.me/s/asiaplus"
    assert listed["cli-wire"]["interval_minutes"] == settings.default_crawl_interval_minutes
    names = {t["slug"]: t["name"] for t in client.get("/api/topics").json()}
    assert names == {"cli-topic": "cli-topic", "form-topic": "Form topic", "api-topic": "API"}
