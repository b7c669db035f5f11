"""What a newcomer notices in the first hour: help texts, config, lists, exports, charts, logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer.main
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from alerts.matching import match_all_pending
from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from cli.reference import walk
from core.settings import Settings
from db import queries
from db.models import Frequency
from db.session import make_engine, make_sessionmaker, unit_of_work
from scheduler.service import quiet_routine_ticks
from tests.factories import story_record
from web.app import create_app
from web.charts import (
    Bar,
    HealthRow,
    bar_chart,
    fill_days,
    health_chart,
    nice_ticks,
    source_state,
)

runner = CliRunner()
_register_commands()
LONG_ADDRESS = "a-very-long-address.for.the.newsroom.desk@some-long-domain.example.org"
LONG_QUERY = " OR ".join(f"term{n}" for n in range(60)) + " OR МВД"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://h.example/rss"
        )
        for n, day in enumerate((3, 3, 5, 9)):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    n,
                    f"https://h.example/{n}",
                    source_id=source.id,
                    title=f"МВД Таджикистана {n}",
                    body="Представительство в Москве",
                    language="ru",
                    published_at=datetime(2026, 11, day, tzinfo=UTC),
                ),
            )
        topic, _ = queries.upsert_topic(
            session=session, slug="long", name="Long query", query=LONG_QUERY
        )
        queries.subscribe(
            session=session,
            email=LONG_ADDRESS,
            topic=topic,
            frequency=Frequency.DAILY,
            token="t1",
            confirmed=True,
        )
    match_all_pending(make_sessionmaker(engine))
    engine.dispose()
    yield settings
    reset_context(None)


def test_no_help_text_shows_a_type_for_a_flag() -> None:
    root = typer.main.get_command(app)
    checked = 0
    for path, _ in walk(root, ["wirewatch"]):
        result = runner.invoke(app, [*path[1:], "--help"], terminal_width=100)
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output, (path, result.output)
        checked += 1
    assert checked > 30
    search = runner.invoke(app, ["search", "--help"], terminal_width=100).output
    assert "<str>" in search  # options that take a value still show their type


def test_config_show_says_where_the_generated_admin_token_is(settings: Settings) -> None:
    reset_context(AppContext(settings=settings, console=Console(width=300), err=Console()))
    before = runner.invoke(app, ["config", "show", "--json"]).output
    assert f"generated into {settings.data_dir / 'admin_token'} when first needed" in before
    (settings.data_dir / "admin_token").write_text("a-generated-admin-token-value")
    after = runner.invoke(app, ["config", "show", "--json"]).output
    assert f"generated into {settings.data_dir / 'admin_token'}: read it there" in after
    assert "a-generated-admin-token-value" not in after
    assert '"admin_token": null' not in after and "None" not in after


def test_subscriptions_list_never_cuts_an_address_at_80_columns(settings: Settings) -> None:
    reset_context(AppContext(settings=settings, console=Console(width=80), err=Console()))
    listed = runner.invoke(app, ["subscriptions", "list"])
    assert listed.exit_code == 0, listed.output
    assert LONG_ADDRESS in listed.output
    assert "long: daily" in listed.output


def test_csv_export_offers_a_byte_order_mark_for_excel(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        plain = client.get("/api/stories.csv", params={"q": "МВД"})
        marked = client.get("/api/stories.csv", params={"q": "МВД", "bom": "1"})
        page = client.get("/", params={"q": "МВД"})
    assert plain.status_code == marked.status_code == 200
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert marked.content.startswith(b"\xef\xbb\xbfid,published")
    assert marked.content[3:] == plain.content
    assert "bom=1" in page.text


def test_search_and_topic_pages_chart_stories_per_day_with_labelled_axes(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings)) as client:
        search = client.get("/", params={"q": "МВД"}).text
        topics = client.get("/topics").text
        topic = client.get("/topics/long").text
    for page in (search,):
        assert '<svg class="chart"' in page
        assert ">2026-11-03</text>" in page and ">2026-11-09</text>" in page
        assert ">stories</text>" in page and ">day (UTC)</text>" in page
        assert "<title>2026-11-03: 2</title>" in page
        assert "<title>2026-11-04: 0</title>" in page  # days without stories are drawn as 0
    assert '<svg class="chart"' in topic and "matching stories per day" in topic
    # The whole query, on the list and on the topic's page.
    assert LONG_QUERY in topics and LONG_QUERY in topic


def test_sources_page_draws_each_source_health(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        page = client.get("/sources").text
    assert '<svg class="chart health"' in page
    assert ">herald</text>" in page
    assert "herald: 0.0 stories a day, never crawled" in page
    assert ">stories per day</text>" in page


def test_health_states() -> None:
    assert source_state(enabled=False, error_count=3, crawled=True) == "disabled"
    assert source_state(enabled=True, error_count=2, crawled=True) == "failing"
    assert source_state(enabled=True, error_count=0, crawled=True) == "ok"
    chart = health_chart([HealthRow("a", 2.5, "failing"), HealthRow("b", 0, "ok")], days=7)
    assert 'fill="#c0392b"' in chart and ">2.5</text>" in chart and ">b</text>" in chart


def test_chart_scale_and_days() -> None:
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(37) == [0, 10, 20, 30, 40]
    assert [b.value for b in fill_days([("2026-11-01", 2), ("2026-11-03", 1)])] == [2, 0, 1]
    chart = bar_chart([Bar("2026-11-01", 5)], title="t <b>", x_title="x", y_title="y")
    assert "t &lt;b&gt;" in chart and "<b>" not in chart
    assert bar_chart([], title="t", x_title="x", y_title="y") == ""


def test_scheduler_routine_ticks_log_at_debug_only() -> None:
    executors = logging.getLogger("apscheduler.executors")
    old = executors.level
    try:
        quiet_routine_ticks("INFO")
        assert not executors.isEnabledFor(logging.INFO)
        assert executors.isEnabledFor(logging.WARNING)
        executors.setLevel(logging.NOTSET)
        quiet_routine_ticks("debug")
        assert executors.level == logging.NOTSET
    finally:
        executors.setLevel(old)
