"""The per-topic Atom feed: valid Atom 1.0, one entry per cluster, hostile text kept inert."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from db import events
from db.models import Cluster, Story
from db.session import unit_of_work
from tests.test_digest_fixtures import match, story, topic
from web.app import create_app

NS = {"a": "http://www.w3.org/2005/Atom"}
HOSTILE = 'МВД <script>alert(1)</script> & "co" \x07'


@pytest.fixture
def client(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    with unit_of_work(session_factory) as session:
        topic(session)
        cluster = Cluster(size=2, languages={"ru": 1, "tg": 1})
        session.add(cluster)
        session.flush()
        story(session, 1, "МВД открывает представительство в Москве", cluster=cluster.id)
        story(
            session,
            2,
            "ВКД дар Маскав намояндагӣ мекушояд",
            source="akhbor",
            language="tg",
            body="МВД Таджикистана: намояндагӣ дар Маскав.",
            cluster=cluster.id,
        )
        hostile = story(session, 3, HOSTILE)
        row = session.get(Story, hostile)
        assert row is not None
        row.canonical_url = row.url = "javascript:alert(1)"
        story(session, 4, "Погода в Душанбе", body="Солнечно.")  # matches nothing
    match(session_factory)
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_feed_is_atom_with_one_entry_per_cluster(client: TestClient) -> None:
    response = client.get("/topics/mvd/atom.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"a:{name}", NS) is not None, name
    assert root.find("a:link[@rel='self']", NS).get("href") == (  # type: ignore[union-attr]
        "https://ww.example/topics/mvd/atom.xml"
    )
    entries = root.findall("a:entry", NS)
    assert len(entries) == 2  # the cluster once, the hostile story; the weather not at all
    for entry in entries:
        for name in ("id", "title", "updated", "author/a:name", "summary"):
            assert entry.find(f"a:{name}", NS) is not None, name
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    summaries = " ".join(e.summary for e in parsed.entries)
    assert "Why it matched:" in summaries and "Also reported by 1 outlet." in summaries


def test_stored_text_stays_text_and_bad_links_go_nowhere(client: TestClient) -> None:
    root = ET.fromstring(client.get("/topics/mvd/atom.xml").content)
    titles = [t.text for t in root.findall("a:entry/a:title", NS)]
    assert HOSTILE.replace("\x07", "") in titles  # escaped on the wire, intact when read
    links = [link.get("href") or "" for link in root.findall("a:entry/a:link", NS)]
    assert links and all(href.startswith("https://") for href in links)


def test_unknown_topic_is_404(client: TestClient) -> None:
    assert client.get("/topics/nope/atom.xml").status_code == 404


def test_entry_carries_its_event_and_the_other_reports(
    tmp_path: Path, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    """Like the JSON API: the event id (a category in the events scheme) and a related
    link to each other outlet's report, so a feed reader can show "also reported by"."""
    with unit_of_work(session_factory) as session:
        topic(session)
        first = story(session, 1, "МВД открывает представительство в Москве")
        second = story(
            session, 2, "ВКД дар Маскав намояндагӣ мекушояд", source="akhbor", language="tg",
            body="МВД Таджикистана: намояндагӣ дар Маскав.",
        )  # fmt: skip
        rows = [session.get_one(Story, first), session.get_one(Story, second)]
        first_at, second_at = rows[0].published_at, rows[1].published_at
        assert first_at is not None and second_at is not None
        event = events.start_event(session=session, story=rows[0], at=first_at)
        events.join_event(session=session, event=event, story=rows[1], at=second_at)
        event_id = event.id
    match(session_factory)
    settings = Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")
    with TestClient(create_app(settings)) as client:
        response = client.get("/topics/mvd/atom.xml")
    root = ET.fromstring(response.content)
    entries = root.findall("a:entry", NS)
    assert len(entries) == 1
    category = entries[0].find("a:category[@scheme='https://ww.example/events/']", NS)
    assert category is not None and category.get("term") == str(event_id)
    related = {
        link.get("href"): link.get("title")
        for link in entries[0].findall("a:link[@rel='related']", NS)
    }
    headline = entries[0].find("a:link[@rel='alternate']", NS)
    assert headline is not None
    others = {"https://herald.example/1", "https://akhbor.example/2"} - {headline.get("href")}
    assert len(others) == 1
    (other,) = others
    assert related[other] in ("herald (ru)", "akhbor (tg)")
    assert not feedparser.parse(response.content).bozo
