"""The web app in-process: pages render, stored text stays inert, one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from db import queries
from db.models import Frequency
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from web.app import create_app

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                1,
                "javascript:alert(1)",
                source_id=source.id,
                title=f"МВД Таджикистана {HOSTILE}",
                body=f"Представительство в Москве {HOSTILE}",
                language="ru",
                published_at=datetime(2026, 11, 3, tzinfo=UTC),
            ),
        )
        topic, _ = queries.upsert_topic(session=session, slug="t", name="Topic", query="МВД")
        queries.subscribe(
            session=session,
            email="a@b.example",
            topic=topic,
            frequency=Frequency.DAILY,
            token="unsub-token",
            confirmed=True,
        )
    engine.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_latest_stories_escape_stored_html(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "МВД Таджикистана" in page.text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_search_uses_the_query_language(client: TestClient) -> None:
    hit = client.get("/", params={"q": "представительства AND Москва"})
    assert hit.status_code == 200 and "МВД Таджикистана" in hit.text
    miss = client.get("/", params={"q": "Ташкент"})
    assert "0 result(s)" in miss.text
    bad = client.get("/", params={"q": "(МВД"})
    assert bad.status_code == 200 and "position" in bad.text
    assert client.get("/", params={"q": "x" * 501}).status_code == 422


def test_story_page_never_links_a_script_url(client: TestClient) -> None:
    page = client.get("/stories/1")
    assert page.status_code == 200
    assert 'href="javascript:' not in page.text
    assert client.get("/stories/999").status_code == 404


def test_sources_and_health(client: TestClient) -> None:
    assert "herald" in client.get("/sources").text
    health = client.get("/healthz")
    assert health.json() == {"status": "ok", "stories": 1}
