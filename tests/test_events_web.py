"""Events in the web app: search entries, the story and event pages, the admin forms that
correct them (token, CSRF), the JSON API and the exports, on both engines."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from db import queries
from db.models import Event, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.event_reports import KENYA, OFFICE, store_reports
from tests.factories import story_record
from web.app import create_app

TOKEN = "admin-token-for-tests-0123456789"
BROWSER = {"accept": "text/html"}
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Seeded:
    ids: dict[str, int]  # story ids by report key ("old": a story with no event)
    office: int  # the office opening's event
    kenya: int
    lead: int  # the office event's headline report


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def seeded(factory: sessionmaker[Session]) -> Seeded:
    with unit_of_work(factory) as session:
        ids = store_reports(session, [*OFFICE, KENYA])
        old = queries.insert_story_if_new(
            session=session,
            record=story_record("old", "https://old.example/1", title="Старая заметка", body="x"),
        )
        assert old is not None
        ids["old"] = old
        office = session.get_one(Story, ids["office-ru"]).event_id
        kenya = session.get_one(Story, ids["kenya-ru"]).event_id
        assert office is not None and kenya is not None
        lead = session.get_one(Event, office).lead_story_id
        assert lead is not None
    return Seeded(ids, office, kenya, lead)


@pytest.fixture
def client(tmp_path: Path, database_url: str, seeded: Seeded) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=TOKEN)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _text(page: str) -> str:
    """The page's words, one space apart (none before punctuation that followed a tag)."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([:,.)])", r"\1", words)


def _login(client: TestClient, page: str) -> str:
    answer = client.post("/login", data={"token": TOKEN, "next": page}, follow_redirects=False)
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found, f"no CSRF field on {page}"
    return found.group(1)


def _event_of(factory: sessionmaker[Session], story_id: int) -> tuple[int | None, bool]:
    with factory() as session:
        story = session.get_one(Story, story_id)
        return story.event_id, story.event_pinned


# --- pages -----------------------------------------------------------------------------


def test_search_shows_one_entry_per_event_with_its_outlets(
    client: TestClient, seeded: Seeded
) -> None:
    page = client.get("/", params={"q": "Рахимзода OR Раҳимзода OR Rahimzoda"})
    assert page.status_code == 200
    entries = page.text.count('class="story"')
    assert entries == 1, _text(page.text)
    assert f'href="/stories/{seeded.lead}"' in page.text
    others = [r.language for r in OFFICE if seeded.ids[r.key] != seeded.lead]
    languages = sorted(set(others), key=lambda code: (-others.count(code), code))
    assert f"also reported by 3 outlets ({', '.join(languages)})" in page.text
    every = client.get(
        "/", params={"q": "Рахимзода OR Раҳимзода OR Rahimzoda", "collapse": "false"}
    )
    assert every.text.count('class="story"') == 4
    assert "one entry per event" in page.text


def test_story_page_lists_the_events_reports_and_developments(
    client: TestClient, factory: sessionmaker[Session], seeded: Seeded
) -> None:
    with unit_of_work(factory) as session:
        session.get_one(Event, seeded.kenya).follows_event_id = seeded.office
    page = client.get(f"/stories/{seeded.ids['office-en']}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Reports of this event" in text
    assert f"event {seeded.office}: 4 reports from 4 outlets (en 1, ru 2, tg 1)" in text
    for report in OFFICE:
        assert report.title in text and report.source in text
    assert "Tajikistan opens police liaison office in Moscow (this report)" in text
    assert 'href="https://ozodi.example/office-tg"' in page.text  # the outlet's own address
    assert f'href="/stories/{seeded.ids["office-tg"]}"' in page.text
    assert "Later development: Германия и Кения" in text
    assert 'action="/stories/' not in page.text  # no correction forms for readers

    later = _text(client.get(f"/stories/{seeded.ids['kenya-ru']}").text)
    assert "Follows:" in later

    event_page = client.get(f"/events/{seeded.office}")
    assert event_page.status_code == 200
    assert f"Event {seeded.office}" in event_page.text and "headline" in event_page.text
    assert "Log in" in event_page.text
    assert client.get("/events/999999", headers=BROWSER).status_code == 404

    alone = _text(client.get(f"/stories/{seeded.ids['old']}").text)
    assert "Reports of this event" not in alone


def test_admin_forms_split_move_and_merge_with_csrf(
    client: TestClient, factory: sessionmaker[Session], seeded: Seeded
) -> None:
    tg = seeded.ids["office-tg"]
    # not logged in: refused before anything happens
    anonymous = client.post(f"/stories/{tg}/split", data={"csrf": "x"}, follow_redirects=False)
    assert anonymous.status_code == 401
    csrf = _login(client, f"/stories/{tg}")
    assert client.post(f"/stories/{tg}/split", data={"csrf": "forged"}).status_code == 403
    cross = client.post(
        f"/stories/{tg}/split", data={"csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert _event_of(factory, tg) == (seeded.office, False)

    split = client.post(f"/stories/{tg}/split", data={"csrf": csrf}, follow_redirects=False)
    assert split.status_code == 303
    new, pinned = _event_of(factory, tg)
    assert pinned and new not in (None, seeded.office)
    assert split.headers["location"] == f"/events/{new}"
    shown = client.get(f"/events/{new}").text
    assert "placed by an operator" in shown and 'action="/events/' in shown
    assert 'class="split"' not in shown  # alone in its event: nothing to split from
    assert "Split this report" not in client.get(f"/stories/{tg}").text
    assert 'class="split"' in client.get(f"/events/{seeded.office}").text

    moved = client.post(
        f"/stories/{tg}/move",
        data={"csrf": csrf, "event": str(seeded.kenya)},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == f"/events/{seeded.kenya}"
    assert _event_of(factory, tg) == (seeded.kenya, True)

    merged = client.post(
        f"/events/{seeded.office}/merge",
        data={"csrf": csrf, "source": str(seeded.kenya)},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    assert _event_of(factory, seeded.ids["kenya-ru"]) == (seeded.office, True)
    with factory() as session:
        assert session.get(Event, seeded.kenya) is None

    # refusals: the service's own message, on an error page
    itself = client.post(
        f"/events/{seeded.office}/merge",
        data={"csrf": csrf, "source": str(seeded.office)},
        headers=BROWSER,
    )
    assert itself.status_code == 422
    assert f"cannot merge event {seeded.office} into itself" in html.unescape(itself.text)
    gone = client.post(
        f"/stories/{tg}/move", data={"csrf": csrf, "event": str(seeded.kenya)}, headers=BROWSER
    )
    assert gone.status_code == 404 and f"no event with id {seeded.kenya}" in gone.text
    assert client.post(f"/stories/{tg}/move", data={"csrf": csrf, "event": "0"}).status_code == 422


# --- API and exports -------------------------------------------------------------------


def test_api_names_the_event_of_every_story(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/api/stories", params={"limit": 20}).json()
    items = {item["id"]: item for item in page["items"]}
    assert set(items) == {seeded.lead, seeded.ids["kenya-ru"], seeded.ids["old"]}
    office = items[seeded.lead]
    assert office["event"] == seeded.office and office["event_reports"] == 4
    assert office["event_outlets"] == 3 and len(office["event_languages"]) >= 2
    assert items[seeded.ids["old"]]["event"] is None
    assert items[seeded.ids["old"]]["event_reports"] == 1
    every = client.get("/api/stories", params={"collapse": "false", "limit": 20}).json()
    assert {i["id"]: i["event"] for i in every["items"]}[seeded.ids["office-tg"]] == seeded.office

    story = client.get(f"/api/stories/{seeded.ids['office-tg']}").json()
    assert story["event"] == seeded.office
    assert [r["id"] for r in story["event_reports"]] == [seeded.ids[r.key] for r in OFFICE]
    old = client.get(f"/api/stories/{seeded.ids['old']}").json()
    assert old["event"] is None and [r["id"] for r in old["event_reports"]] == [seeded.ids["old"]]

    event = client.get(f"/api/events/{seeded.office}")
    assert event.status_code == 200
    body = event.json()
    assert body["id"] == seeded.office and body["size"] == 4 and body["lead"] == seeded.lead
    assert body["languages"] == {"ru": 2, "en": 1, "tg": 1} and body["outlets"] == 4
    assert [(r["source"], r["language"]) for r in body["reports"]] == [
        (r.source, r.language) for r in OFFICE
    ]
    assert [r["lead"] for r in body["reports"]].count(True) == 1
    assert body["follows"] is None and body["followed_by"] == []
    missing = client.get("/api/events/999999")
    assert missing.status_code == 404 and "no event with id 999999" in missing.json()["detail"]
    assert client.get("/api/events/0").status_code == 422


def test_exports_carry_the_event(client: TestClient, seeded: Seeded) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/api/stories.csv").text)))
    by_id = {int(r["id"]): r["event"] for r in rows}
    assert by_id == {
        seeded.lead: str(seeded.office),
        seeded.ids["kenya-ru"]: str(seeded.kenya),
        seeded.ids["old"]: "",
    }
    lines = client.get("/api/stories.jsonl", params={"collapse": "false"}).text.splitlines()
    records = {r["id"]: r["event"] for r in map(json.loads, lines)}
    assert records[seeded.ids["office-en"]] == seeded.office and records[seeded.ids["old"]] is None
    feed = ElementTree.fromstring(client.get("/api/stories.atom").content)
    categories = [
        (c.get("term"), c.get("scheme"))
        for entry in feed.iter(f"{ATOM}entry")
        for c in entry.iter(f"{ATOM}category")
    ]
    assert (str(seeded.office), "http://127.0.0.1:8000/api/events/") in categories
    assert len(categories) == 2  # the story with no event has none
