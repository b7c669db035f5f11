"""Exports of a search: CSV, JSON Lines, Atom; streamed in batches with flat memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from db.models import Source, SourceKind, Story
from db.search import SearchRequest, sync
from db.session import make_engine, make_sessionmaker, unit_of_work
from web.app import create_app
from wirewatch.archive import export_rows

ATOM = "{http://www.w3.org/2005/Atom}"


def _bulk(factory: sessionmaker[Session], n: int, *, start: int = 0) -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with unit_of_work(factory) as session:
        source = session.query(Source).filter_by(name="wire").one_or_none()
        if source is None:
            source = Source(name="wire", kind=SourceKind.FEED, url="https://w.example/rss")
            session.add(source)
            session.flush()
        rows = [
            {
                "url_key": f"{i:064d}",
                "canonical_url": f"https://w.example/{i}" if i % 10 else "javascript:alert(1)",
                "url": f"https://w.example/{i}",
                "source_id": source.id,
                "title": f"Мигранты {i}" if i % 10 else f'=HYPERLINK("http://x") <b>{i}</b>',
                "body": "Текст про трудовых мигрантов и МВД. " * 20
                + ("\x01\x0b" if i % 7 == 0 else ""),
                "summary": "",
                "authors": [],
                "language": "ru",
                "published_at": when + timedelta(minutes=i),
                "published_estimated": False,
                "fetched_at": when,
                "fingerprint": f"{i:064x}",
                "version": 1,
                "canonicalizer_version": 1,
            }
            for i in range(start, start + n)
        ]
        session.execute(insert(Story), rows)
        sync(session, limit=10**7)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    engine = make_engine(settings.database_url)
    _bulk(make_sessionmaker(engine), 250)
    engine.dispose()
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_csv_export_is_complete_and_defuses_formulas(client: TestClient) -> None:
    answer = client.get("/api/stories.csv", params={"q": "мигрант*", "collapse": "false"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 250
    assert [int(r["id"]) for r in rows] == sorted((int(r["id"]) for r in rows), reverse=True)
    formulas = [r for r in rows if r["title"].startswith("'=")]
    assert len(formulas) == 25 and not any(r["title"].startswith("=") for r in rows)


def test_jsonl_and_limit(client: TestClient) -> None:
    answer = client.get("/api/stories.jsonl", params={"q": "МВД", "limit": 30})
    lines = answer.text.splitlines()
    assert len(lines) == 30
    record = json.loads(lines[0])
    assert set(record) >= {"id", "published", "source", "language", "title", "url", "text"}
    assert record["source"] == "wire"


def test_atom_is_well_formed_and_links_are_safe(client: TestClient) -> None:
    answer = client.get("/api/stories.atom", params={"q": "мигрантов"})
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)  # control characters in text were dropped
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 250
    hrefs = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert all(h.startswith(("http://", "https://")) for h in hrefs if h)
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert '=HYPERLINK("http://x") <b>240</b>' in titles  # text, escaped in the XML


def test_export_errors_come_before_the_stream(client: TestClient) -> None:
    assert client.get("/api/stories.csv", params={"q": "(a"}).status_code == 422
    assert client.get("/api/stories.pdf").status_code == 422
    empty = client.get("/api/stories.jsonl", params={"q": "несуществующееслово"})
    assert empty.status_code == 200 and empty.text == ""


def test_export_memory_stays_flat(settings: Settings) -> None:
    """Peak memory of an export does not grow with its size (batches, not a list)."""
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    _bulk(factory, 600)

    def peak(rows: int) -> int:
        tracemalloc.start()
        count = sum(
            1
            for _ in export_rows(
                factory, SearchRequest(query="МВД", collapse=False), max_rows=rows, batch=100
            )
        )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == rows
        return top

    small, large = peak(150), peak(600)
    engine.dispose()
    assert large < small * 1.5, (small, large)
