"""The running app against its own OpenAPI document, with schemathesis.

Every API operation gets generated requests (valid and invalid): none may
answer 5xx, every status code and body must be the documented ones. Admin
operations are called without the token here (401, documented); their
happy paths are in test_api.py. The number of examples is bounded so this
stays fast.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.settings import Settings
from db import queries
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.event_reports import OFFICE, store_reports
from tests.factories import story_record
from web.app import create_app


@pytest.fixture
def live_api(tmp_path: Path, database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        for n in range(12):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    n,
                    f"https://h.example/{n}",
                    source_id=source.id,
                    title=f"МВД Таджикистана {n}",
                    body="Представительство",
                    language="ru",
                    published_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
                ),
            )
        store_reports(session, OFFICE)  # event 1, reported in three languages
        queries.upsert_topic(session=session, slug="t", name="T", query="МВД")
        run = queries.create_crawl_run(session=session, source_id=None, trigger="test")
        run.errors = [{"source": "herald", "url": "https://h.example/rss", "error": "timeout"}]
    engine.dispose()
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, admin_token="t" * 32))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


# The subscription endpoints have their own tests.
OURS = ("/api/stories", "/api/events", "/api/topics", "/api/sources", "/api/crawls")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_api_follows_its_openapi(live_api: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_api}/api/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    operations = [op for op in operations if op.path.startswith(OURS)]
    assert len(operations) >= 11
    for operation in operations:

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(base_url=live_api, checks=CHECKS)

        check()
