"""Defining the new source kinds: YAML links rules, `sources links`, search templates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.errors import ConfigError
from core.settings import Settings
from db import queries
from db.migrate import upgrade
from db.models import SourceKind
from db.session import make_engine, make_sessionmaker, unit_of_work
from web.app import create_app
from wirewatch import catalog
from wirewatch.bootstrap import load_sources

runner = CliRunner()
_register_commands()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    upgrade(database_url)
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


def test_yaml_sources_carry_kinds_and_link_rules(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n"
        "  - {name: mvd, kind: section, url: 'https://mvd.example/press/',"
        " links: {css: '.news-list a'}}\n"
        "  - {name: wire-map, kind: sitemap, url: 'https://wire.example/'}\n"
        "  - {name: search, kind: search, url: 'https://s.example/rss?q={query}'}\n",
        encoding="utf-8",
    )
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        load_sources(session, path)
    with factory() as session:
        mvd = queries.get_source(session=session, name="mvd")
        assert mvd.kind == SourceKind.SECTION and mvd.link_rules == {"css": ".news-list a"}
        assert queries.get_source(session=session, name="search").kind == SourceKind.SEARCH
    path.write_text(
        "sources:\n  - {name: bad, kind: section, url: 'https://b.example/', links: {css: 'a[['}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="does not compile"), unit_of_work(factory) as session:
        load_sources(session, path)
    engine.dispose()


def test_a_search_source_needs_its_placeholder() -> None:
    with pytest.raises(catalog.SourceURLError, match=r"\{query\}"):
        catalog.check_source(
            name="s",
            url="https://s.example/rss?q=police",
            kind="search",
            default_interval=30,
            policy=None,
        )


def test_sources_links_sets_and_clears_rules(settings: Settings) -> None:
    added = runner.invoke(
        app,
        ["sources", "add", "mvd", "https://mvd.example/press/", "--kind", "section", "--no-check"],
    )
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["sources", "links", "mvd", "--css", ".news-list a"])
    assert result.exit_code == 0, result.output
    assert "'.news-list a'" in result.output
    bad = runner.invoke(app, ["sources", "links", "mvd", "--xpath", "//a[@"])
    assert bad.exit_code != 0 and "does not compile" in bad.output
    cleared = runner.invoke(app, ["sources", "links", "mvd"])
    assert "default heuristics" in cleared.output
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        assert queries.get_source(session=session, name="mvd").link_rules is None
    engine.dispose()


def test_the_web_app_adds_a_section_source_and_sets_its_link_rules(
    settings: Settings, tmp_path: Path
) -> None:
    token = "admin-token-for-tests-0123456789"
    web_settings = Settings(
        data_dir=tmp_path, database_url=settings.database_url, admin_token=token
    )
    with TestClient(create_app(web_settings)) as client:
        assert (
            client.post(
                "/login", data={"token": token, "next": "/sources"}, follow_redirects=False
            ).status_code
            == 303
        )
        found = re.search(r'name="csrf" value="([^"]+)"', client.get("/sources").text)
        assert found
        csrf = found.group(1)
        added = client.post(
            "/sources",
            data={
                "csrf": csrf,
                "name": "mvd",
                "url": "https://mvd.example/press/",
                "kind": "section",
                "check": "no",  # an example host: saved without fetching
            },
        )
        assert added.status_code == 200
        page = client.get("/sources").text
        assert 'action="/sources/mvd/links"' in page and '<option value="sitemap">' in page
        bad = client.post("/sources/mvd/links", data={"csrf": csrf, "css": "a[[["})
        assert bad.status_code == 422 and "does not compile" in bad.text
        good = client.post("/sources/mvd/links", data={"csrf": csrf, "css": ".news-list a"})
        assert good.status_code == 200
        assert 'value=".news-list a"' in client.get("/sources").text
