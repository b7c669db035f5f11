"""A story that starts an event continuing an earlier one (signed, then ratified; a second
flight) links the new event to it; a near miss does not. Operators set and clear the link;
pages, the API and exports show it. On both engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from scrapy.settings import Settings as ScrapySettings
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.settings import Settings
from crawler.events.index import EventIndex
from crawler.pipelines.store import follow_lookback
from db import queries
from db.models import Event, Story
from db.session import unit_of_work
from tests.factories import story_record
from web.app import create_app
from wirewatch import events
from wirewatch.events import FollowLoopError, SameEventError

EVENTS_DIR = Path(__file__).resolve().parent / "data" / "events"
TOKEN = "admin-token-for-tests-0123456789"
runner = CliRunner()
_register_commands()


def _labelled(*names: str) -> list[dict[str, object]]:
    """The labelled reports of these events (development part), earliest first."""
    rows = []
    for path in sorted(EVENTS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row["event"] in names:
                    rows.append(row)
    return sorted(rows, key=lambda r: datetime.fromisoformat(str(r["published"])))


def _store(
    session: Session, rows: list[dict[str, object]], index: EventIndex | None = None
) -> dict[str, int]:
    """Store and place each report as the store pipeline does; event id by labelled event."""
    index = index or EventIndex()
    found: dict[str, int] = {}
    for row in rows:
        source, _ = queries.upsert_source(
            session=session, name=str(row["source"]), url=f"https://{row['source']}.example/rss"
        )
        story_id = queries.insert_story_if_new(
            session=session,
            record=story_record(
                str(row["id"]),
                str(row["url"]),
                source_id=source.id,
                title=str(row["title"] or ""),
                body=str(row["text"]),
                language=str(row["lang"]),
                published_at=datetime.fromisoformat(str(row["published"])),
            ),
        )
        assert story_id is not None
        story = session.get_one(Story, story_id)
        placed = index.place(session, story, index.signature(story))
        found.setdefault(str(row["event"]), placed.event_id)
    return found


@pytest.fixture
def placed(session_factory: sessionmaker[Session]) -> dict[str, int]:
    # A deportation flight and the second one a month later (a follow-up); Russia lifting
    # entry bans on Tajiks, then on Uzbeks two weeks later (a near miss: other actors).
    with unit_of_work(session_factory) as session:
        return _store(session, _labelled("a-004", "a-n05", "a-006", "a-n07"))


def _follows(factory: sessionmaker[Session], event_id: int) -> int | None:
    with factory() as session:
        return session.get_one(Event, event_id).follows_event_id


def test_placement_links_a_follow_up_and_not_a_near_miss(
    session_factory: sessionmaker[Session], placed: dict[str, int]
) -> None:
    assert len(set(placed.values())) == 4  # four events: nothing merged
    assert _follows(session_factory, placed["a-n05"]) == placed["a-004"]
    assert _follows(session_factory, placed["a-n07"]) is None
    assert _follows(session_factory, placed["a-004"]) is None
    assert _follows(session_factory, placed["a-006"]) is None


def test_a_look_back_of_zero_days_links_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    settings = ScrapySettings({"WIREWATCH_EVENTS_FOLLOW_LOOKBACK_DAYS": 0})
    assert follow_lookback(settings) == timedelta(0)
    assert follow_lookback(ScrapySettings()) == timedelta(days=365)
    index = EventIndex(follow_lookback=follow_lookback(settings))
    with unit_of_work(session_factory) as session:
        placed = _store(session, _labelled("a-004", "a-n05"), index)
    assert _follows(session_factory, placed["a-n05"]) is None


def test_operators_set_and_clear_a_link_and_loops_are_refused(
    session_factory: sessionmaker[Session], placed: dict[str, int]
) -> None:
    later, earlier = placed["a-n07"], placed["a-006"]
    with unit_of_work(session_factory) as session:
        said = events.set_follows(session, later, earlier)
    assert said == f"event {later} now follows event {earlier}"
    assert _follows(session_factory, later) == earlier
    with unit_of_work(session_factory) as session:
        with pytest.raises(FollowLoopError, match="began after"):
            events.set_follows(session, earlier, later)
        with pytest.raises(SameEventError):
            events.set_follows(session, later, later)
    flight, second = placed["a-004"], placed["a-n05"]
    with unit_of_work(session_factory) as session:
        # a-n05 follows a-004; a-004 following a-n05 would be a loop (and later besides)
        with pytest.raises(FollowLoopError):
            events.set_follows(session, flight, second)
        assert events.set_follows(session, later, None).endswith(f"follows event {earlier}")
    assert _follows(session_factory, later) is None
    # a new report placed later changes no link an operator set or cleared
    assert _follows(session_factory, second) == flight


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


def test_the_cli_follows_and_unfollows(
    cli: Settings, session_factory: sessionmaker[Session], placed: dict[str, int]
) -> None:
    later, earlier = placed["a-n07"], placed["a-006"]
    done = runner.invoke(app, ["events", "follow", str(later), str(earlier)])
    assert done.exit_code == 0, done.output
    assert f"event {later} now follows event {earlier}" in done.output
    shown = " ".join(runner.invoke(app, ["events", "show", str(earlier)]).output.split())
    assert f"followed by event {later}:" in shown
    refused = runner.invoke(app, ["events", "follow", str(earlier), str(later)])
    assert refused.exit_code != 0 and "began after" in refused.output
    cleared = runner.invoke(app, ["events", "unfollow", str(later)])
    assert cleared.exit_code == 0 and "no longer follows" in cleared.output
    assert _follows(session_factory, later) is None


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=TOKEN)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_pages_the_api_and_exports_show_the_link(
    client: TestClient, session_factory: sessionmaker[Session], placed: dict[str, int]
) -> None:
    flight, second = placed["a-004"], placed["a-n05"]
    with session_factory() as session:
        second_story = session.get_one(Event, second).lead_story_id
        flight_title = session.get_one(Story, session.get_one(Event, flight).lead_story_id).title
        second_title = session.get_one(Story, second_story).title
    page = client.get(f"/events/{second}", headers={"accept": "text/html"}).text
    assert "Follows:" in page and flight_title in page
    earlier = client.get(f"/events/{flight}", headers={"accept": "text/html"}).text
    assert "Later development:" in earlier and second_title in earlier
    story_page = client.get(f"/stories/{second_story}", headers={"accept": "text/html"}).text
    assert "Follows:" in story_page and flight_title in story_page

    body = client.get(f"/api/events/{second}").json()
    assert body["follows_event"] == flight and body["follows"]["id"] == flight
    assert client.get(f"/api/events/{flight}").json()["followed_by"][0]["id"] == second
    story = client.get(f"/api/stories/{second_story}").json()
    assert story["follows_event"] == flight
    lines = [
        json.loads(line)
        for line in client.get("/api/stories.jsonl", params={"collapse": "false"}).text.splitlines()
    ]
    by_id = {row["id"]: row for row in lines}
    assert by_id[second_story]["follows_event"] == flight
    csv_text = client.get("/api/stories.csv", params={"collapse": "false"}).text
    assert "follows_event" in csv_text.splitlines()[0]


def test_the_admin_form_sets_and_clears_the_link(
    client: TestClient, session_factory: sessionmaker[Session], placed: dict[str, int]
) -> None:
    later, earlier = placed["a-n07"], placed["a-006"]
    login = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert login.status_code in (302, 303)
    page = client.get(f"/events/{later}", headers={"accept": "text/html"}).text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    done = client.post(
        f"/events/{later}/follows", data={"csrf": csrf, "earlier": str(earlier)},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert _follows(session_factory, later) == earlier
    client.post(f"/events/{later}/follows", data={"csrf": csrf, "earlier": ""})
    assert _follows(session_factory, later) is None
