"""The JSON API in-process and with a real crawl: search, stories, topics, sources, crawls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from db import queries
from db.models import Cluster, Story
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import ROOT
from tests.factories import revision_of, story_record
from web.app import create_app
from wirewatch.demo_site.server import FixtureSite

STORIES = ROOT / "tests" / "data" / "topic_police_liaison.jsonl"
TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def _seed(database_url: str) -> None:
    rows = [json.loads(line) for line in STORIES.read_text(encoding="utf-8").splitlines()]
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        for i, row in enumerate(rows):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    i,
                    f"https://h.example/{i}",
                    source_id=source.id,
                    title=row["title"],
                    body=row["text"],
                    authors=["Desk"],
                    language=row["lang"],
                    published_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=i),
                    fetched_at=datetime(2026, 11, 20, tzinfo=UTC),
                ),
            )
        cluster = Cluster(size=2, languages={"en": 1, "ru": 1})
        session.add(cluster)
        session.flush()
        session.query(Story).filter(Story.id.in_([167, 168])).update(
            {Story.cluster_id: cluster.id}, synchronize_session=False
        )
        queries.upsert_topic(session=session, slug="liaison", name="Liaison", query="МВД OR police")
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        admin_token=TOKEN,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        crawl_trigger_limit=5,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    _seed(settings.database_url)
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
        app.state.crawls.wait(timeout=120)


def test_search_pages_with_cursor(client: TestClient) -> None:
    seen: list[int] = []
    params: dict[str, str | int] = {"q": "police OR МВД", "limit": 5, "collapse": "false"}
    for _ in range(50):
        page = client.get("/api/stories", params=params)
        assert page.status_code == 200
        body = page.json()
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == len(set(seen)) > 10
    counts = client.get("/api/stories/facets", params={"q": "police OR МВД"}).json()
    assert counts["total"] == len(seen) and counts["exact"] is True
    assert sum(d["count"] for d in counts["by_day"]) == len(seen)
    params = {"q": "МВД", "limit": 1, "across": "0"}
    item = client.get("/api/stories", params=params).json()["items"][0]
    assert "<mark>МВД</mark>" in item["title_html"] or "<mark>МВД</mark>" in item["snippet_html"]
    # across languages (the default) other languages' words for it are marked as well
    items = client.get("/api/stories", params={"q": "МВД", "limit": 100}).json()["items"]
    assert {i["language"] for i in items} >= {"ru", "tg", "en"}
    assert all("<mark>" in i["title_html"] + i["snippet_html"] for i in items)


def test_filters_and_collapse(client: TestClient) -> None:
    everything = client.get("/api/stories", params={"limit": 100, "collapse": "false"}).json()
    collapsed = client.get("/api/stories", params={"limit": 100}).json()
    assert len(everything["items"]) == 100
    ids = {i["id"] for i in collapsed["items"]}
    assert 168 in ids and 167 not in ids  # one entry for the cluster: its newest story
    sized = [i for i in collapsed["items"] if i["cluster_id"] is not None]
    assert sized and sized[0]["cluster_size"] == 2
    english = client.get("/api/stories", params={"lang": "en", "limit": 100}).json()["items"]
    assert english and {i["language"] for i in english} == {"en"}
    early = client.get(
        "/api/stories",
        params={"since": "2026-11-01", "until": "2026-11-01", "limit": 100, "collapse": "false"},
    ).json()["items"]
    assert len(early) == 24 and all(i["published"].startswith("2026-11-01") for i in early)
    assert client.get("/api/stories", params={"source": "nosuch"}).status_code == 404
    assert client.get("/api/stories", params={"topic": "nosuch"}).status_code == 404
    cluster = client.get("/api/stories", params={"cluster": sized[0]["cluster_id"]}).json()
    assert sorted(i["id"] for i in cluster["items"]) == [167, 168]


def test_bad_input_is_refused_with_422(client: TestClient) -> None:
    """ADVERSARIAL 46: bounded query length, capped limits, checked cursors and dates."""
    assert client.get("/api/stories", params={"q": "x" * 501}).status_code == 422
    assert client.get("/api/stories", params={"q": "x" * 10_240}).status_code == 422
    assert client.get("/api/stories", params={"limit": 10**9}).status_code == 422
    assert client.get("/api/stories", params={"limit": 0}).status_code == 422
    assert client.get("/api/stories", params={"cursor": "not-a-cursor"}).status_code == 422
    assert client.get("/api/stories", params={"since": "yesterday"}).status_code == 422
    bad = client.get("/api/stories", params={"q": "(МВД"})
    assert bad.status_code == 422 and bad.json()["position"] == 4
    sql = client.get("/api/stories", params={"q": "'; DROP TABLE stories; --"})
    assert sql.status_code in (200, 422)
    assert client.get("/api/stories", params={"q": "%_%"}).status_code in (200, 422)
    assert client.get("/healthz").json()["stories"] == 168


def test_story_detail_with_cluster_topics_and_versions(
    client: TestClient, settings: Settings
) -> None:
    engine = make_engine(settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        topic = queries.get_topic(session=session, slug="liaison")
        queries.record_topic_match(
            session=session, story_id=168, topic_id=topic.id, why=["police"], when=datetime.now(UTC)
        )
        story = session.get(Story, 168)
        assert story is not None
        old_title = story.title
        queries.record_new_version(
            session=session,
            story=story,
            record=revision_of(story, title="Updated title", body="Updated text"),
            when=datetime.now(UTC),
        )
    engine.dispose()
    body = client.get("/api/stories/168").json()
    assert body["title"] == "Updated title" and body["version"] == 2
    assert body["versions"][0]["title"] == old_title
    assert [m["id"] for m in body["also_reported_by"]] == [167]
    assert body["topics"] == [
        {
            "slug": "liaison",
            "name": "Liaison",
            "why": ["police"],
            "matched_at": body["topics"][0]["matched_at"],
        }
    ]
    assert client.get("/api/stories/99999").status_code == 404
    found = client.get("/api/stories", params={"q": '"Updated title"'}).json()["items"]
    assert [i["id"] for i in found] == [168]


def test_admin_actions_need_the_token(client: TestClient) -> None:
    topic = {"slug": "new-topic", "name": "New", "query": "мигрант*"}
    assert client.put("/api/topics/new-topic", json=topic).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.put("/api/topics/new-topic", json=topic, headers=wrong).status_code == 401
    made = client.put("/api/topics/new-topic", json=topic, headers=ADMIN)
    assert made.status_code == 201 and made.json()["atom"] == "/topics/new-topic/atom.xml"
    again = client.put("/api/topics/new-topic", json={**topic, "query": "мигрант"}, headers=ADMIN)
    assert again.status_code == 200
    broken = client.put("/api/topics/new-topic", json={**topic, "query": "(a"}, headers=ADMIN)
    assert broken.status_code == 422 and "position" in broken.json()
    assert {t["slug"] for t in client.get("/api/topics").json()} == {"liaison", "new-topic"}
    assert client.patch("/api/topics/new-topic", json={"enabled": False}).status_code == 401
    off = client.patch("/api/topics/new-topic", json={"enabled": False}, headers=ADMIN)
    assert off.status_code == 200 and off.json()["enabled"] is False

    source = {
        "name": "wire",
        "url": "https://wire.example/rss.xml",
        "language": "en",
        "check": False,
    }
    assert client.post("/api/sources", json=source).status_code == 401
    assert client.post("/api/sources", json=source, headers=ADMIN).status_code == 201
    local = {"name": "local", "url": "http://10.0.0.1/rss.xml"}
    assert client.post("/api/sources", json=local, headers=ADMIN).status_code == 422
    scheme = {"name": "js", "url": "javascript:alert(1)"}
    assert client.post("/api/sources", json=scheme, headers=ADMIN).status_code == 422
    assert client.patch("/api/sources/wire", json={"enabled": False}).status_code == 401
    off = client.patch("/api/sources/wire", json={"enabled": False}, headers=ADMIN)
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert (
        client.patch("/api/sources/nosuch", json={"enabled": False}, headers=ADMIN).status_code
        == 404
    )
    listed = {s["name"]: s for s in client.get("/api/sources").json()}
    assert listed["herald"]["stories"] == 168 and listed["wire"]["enabled"] is False
    assert client.post("/api/crawls", json={}).status_code == 401


def test_private_archive_needs_the_token(settings: Settings) -> None:
    _seed(settings.database_url)
    private = settings.model_copy(update={"archive_public": False})
    with TestClient(create_app(private)) as client:
        assert client.get("/api/stories").status_code == 401
        assert client.get("/api/stories.csv").status_code == 401
        assert client.get("/api/stories", headers=ADMIN).status_code == 200
        assert client.get("/", headers={"accept": "text/html"}).status_code == 401
        assert client.get("/healthz").status_code == 200


def _wait_finished(client: TestClient, run_id: int, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/api/crawls/{run_id}").json()
        if run["finished"]:
            return dict(run)
        time.sleep(0.3)
    raise AssertionError(f"crawl {run_id} did not finish")


def test_crawl_from_the_api_coalesces_and_finishes(client: TestClient) -> None:
    with FixtureSite() as site:
        created = client.post(
            "/api/sources",
            json={"name": "asia-wire", "url": site.feed_url("asia-wire"), "language": "en"},
            headers=ADMIN,
        )
        assert created.status_code == 201
        first = client.post("/api/crawls", json={"sources": ["asia-wire"]}, headers=ADMIN)
        second = client.post("/api/crawls", json={"sources": ["asia-wire"]}, headers=ADMIN)
        assert first.status_code == second.status_code == 202
        assert second.json() == {**first.json(), "joined": True}
        assert first.json()["joined"] is False
        run = _wait_finished(client, first.json()["id"])
        assert run["status"] == "succeeded" and run["sources_done"] == 1
        assert isinstance(run["new"], int) and run["new"] > 0
        assert (
            client.post("/api/crawls", json={"sources": ["nosuch"]}, headers=ADMIN).status_code
            == 404
        )
        # the stories just crawled are searchable
        found = client.get("/api/stories", params={"source": "asia-wire", "limit": 100}).json()
        assert len(found["items"]) > 0
    assert client.get("/api/crawls/99999").status_code == 404


def test_crawl_starts_are_rate_limited(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []

    class Fake:
        def start(self, sources: list[str] | None, *, trigger: str) -> object:
            from web.crawls import Started

            started.append(sources)
            return Started(len(started), joined=False)

        def wait(self, timeout: float | None = None) -> None:
            return None

    monkeypatch.setattr(client.app.state, "crawls", Fake())  # type: ignore[attr-defined]
    answers = [client.post("/api/crawls", json={}, headers=ADMIN).status_code for _ in range(7)]
    assert answers == [202] * 5 + [429, 429]
    assert len(started) == 5
