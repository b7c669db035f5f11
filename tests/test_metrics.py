"""/metrics: Prometheus text with the pipeline's totals from the database, behind a token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from core.settings import Settings
from db import queries
from db.models import CrawlStatus, DeliveryStatus, Digest, Frequency
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from web.app import create_app

METRICS_TOKEN = "metrics-token-0123456789abcdef"
ADMIN_TOKEN = "admin-token-0123456789abcdef"


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(session=session, name="s", url="https://s.example/rss")
        for status, counts in (
            (
                CrawlStatus.SUCCEEDED,
                {"sources_done": 3, "fetched": 10, "new": 6, "duplicates": 4, "not_modified": 2},
            ),
            (
                CrawlStatus.PARTIAL,
                {
                    "sources_done": 2,
                    "fetched": 5,
                    "new": 1,
                    "duplicates": 3,
                    "failed": 1,
                    "updated": 1,
                },
            ),
        ):
            run = queries.create_crawl_run(session=session, source_id=None, trigger="test")
            queries.add_crawl_counts(session=session, run_id=run.id, **counts)
            queries.finish_crawl_run(
                session=session, run_id=run.id, status=status, when=datetime.now(UTC)
            )
        topic, _ = queries.upsert_topic(session=session, slug="t", name="T", query="x")
        sub, _ = queries.subscribe(
            session=session,
            email="a@b.example",
            topic=topic,
            frequency=Frequency.DAILY,
            token="tok",
            confirmed=True,
        )
        for key, sent in (
            ("p1", DeliveryStatus.SENT),
            ("p2", DeliveryStatus.SENT),
            ("p3", DeliveryStatus.FAILED),
        ):
            session.add(Digest(subscription_id=sub.id, period_key=key, status=sent))
        queries.insert_story_if_new(
            session=session,
            record=story_record(
                1,
                "https://s.example/1",
                source_id=source.id,
                title="t",
                summary="s",
                language="en",
                extraction_method="feed-summary",
            ),
        )
    engine.dispose()
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        metrics_token=METRICS_TOKEN,
        admin_token=ADMIN_TOKEN,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _values(text: str) -> dict[str, float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def test_metrics_need_a_token(client: TestClient) -> None:
    """ADVERSARIAL 47: no anonymous /metrics."""
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code
        == 401
    )
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/plain")


def test_totals_come_from_the_database(client: TestClient) -> None:
    client.get("/api/stories", params={"q": "t"})
    client.get("/", params={"q": "t"})
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    values = _values(text)
    assert values["wirewatch_feed_fetches_total"] == 5
    assert values["wirewatch_feed_not_modified_total"] == 2
    assert values["wirewatch_stories_new_total"] == 7
    assert values["wirewatch_stories_duplicate_total"] == 7
    assert values["wirewatch_stories_updated_total"] == 1
    assert values["wirewatch_fetch_failures_total"] == 1
    assert values["wirewatch_extraction_failures_total"] == 1
    assert values["wirewatch_crawl_runs_total{status=succeeded}"] == 1
    assert values["wirewatch_crawl_runs_total{status=partial}"] == 1
    assert values["wirewatch_digests_total{status=sent}"] == 2
    assert values["wirewatch_digests_total{status=failed}"] == 1
    assert values["wirewatch_stories"] == 1
    assert values["wirewatch_database_up"] == 1
    assert values["wirewatch_search_seconds_count{via=api}"] == 1
    assert values["wirewatch_search_seconds_count{via=web}"] == 1
    assert "wirewatch_scheduler_lag_seconds" in text


def test_admin_token_opens_metrics_when_no_metrics_token(tmp_path: Path, database_url: str) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert ok.status_code == 200 and "wirewatch_stories 0.0" in ok.text
