"""Archive search across languages: a word also finds its equivalents in ru, tg and en.

On both engines, through the search module, the JSON API, the search page, the
export and `wirewatch search`, with the switch that turns it off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import _register_commands
from cli import app as cli_app
from cli.common import reset_context
from cli.context import AppContext
from core.across import across_languages, equivalents
from core.query import Document, parse
from core.query.ast import Phrase, Term
from core.settings import Settings
from db import queries
from db.search import SearchRequest, search, sync
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from web.app import create_app

_register_commands()
BASE = datetime(2026, 5, 1, tzinfo=UTC)
TOKEN = "admin-token-for-tests-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}

# (title, body, language); ids are 1.. in this order
STORIES = [
    (
        "МВД открыло представительство в Москве",
        "Сотрудники МВД будут работать при посольстве.",
        "ru",
    ),
    (
        "Interior ministry to post officers abroad",
        "The interior ministry said two officers go.",
        "en",
    ),
    ("ВКД дар Маскав намояндагӣ кушод", "Вазорати корҳои дохилӣ хабар дод.", "tg"),
    ("Погода в Душанбе", "Завтра ожидается дождь и ветер.", "ru"),
    ("Мигрантам продлили полис ОМС", "Страховой полис можно оформить онлайн.", "ru"),
]
MVD_EVERYWHERE = {1, 2, 3}


def _seed(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(session=session, name="herald", url="https://h.example/")
        for i, (title, body, lang) in enumerate(STORIES):
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    i,
                    f"https://h.example/{i}",
                    source_id=source.id,
                    title=title,
                    body=body,
                    language=lang,
                    published_at=BASE + timedelta(hours=i),
                    fetched_at=BASE + timedelta(hours=i),
                ),
            )
        sync(session)


def _ids(factory: sessionmaker[Session], **request: object) -> set[int]:
    with factory() as session:
        page = search(session, SearchRequest(collapse=False, limit=50, **request), explain=True)  # type: ignore[arg-type]
    return {hit.story.id for hit in page.hits}


def _leaf(text: str) -> Term | Phrase:
    root = parse(text).root
    assert isinstance(root, Term | Phrase)
    return root


def test_a_word_has_the_concepts_that_say_all_of_it() -> None:
    assert {"police", "police-authority"} <= set(equivalents(_leaf("МВД")))
    assert "tj-interior-ministry" in equivalents(_leaf("ВКД"))
    assert equivalents(_leaf("дождь")) == ()
    # a phrase gains only the concepts that cover all of it, not those of one word
    station = equivalents(_leaf('"police station"'))
    assert "police-station-abroad" in station and "police" not in station


def test_expanded_query_matches_the_other_languages_and_keeps_near() -> None:
    query = across_languages(parse("МВД NEAR/5 представительство"))
    for title in ("ВКД дар Маскав намояндагӣ кушод", "Interior ministry opens office"):
        assert query.match(Document(title=title)), title
    assert not query.match(Document(title="Погода: дождь"))
    assert across_languages(parse("дождь")) == parse("дождь")
    # lang:, source: and @entities are not touched
    assert across_languages(parse("lang:ru")) == parse("lang:ru")


def test_archive_search_finds_other_languages_and_can_be_switched_off(
    session_factory: sessionmaker[Session],
) -> None:
    _seed(session_factory)
    assert _ids(session_factory, query="МВД") == MVD_EVERYWHERE
    assert _ids(session_factory, query="МВД", across=False) == {1}
    assert _ids(session_factory, query='"interior ministry"') == MVD_EVERYWHERE
    assert _ids(session_factory, query="ВКД", across=False) == {3}
    # "полис ОМС" is insurance, not the Tajik police
    assert 5 not in _ids(session_factory, query="полиция")
    # the index finds "полис" for the entity; the insurance sense is left to the matcher
    assert _ids(session_factory, query="@police-authority", across=False) == MVD_EVERYWHERE
    # the reason quotes the story's own words, in its language
    with session_factory() as session:
        hits = search(session, SearchRequest(query="МВД", collapse=False), explain=True).hits
    why = {hit.story.id: hit.why for hit in hits}
    assert any("“Interior ministry”" in line for line in why[2])
    assert any("“ВКД”" in line for line in why[3])


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, admin_token=TOKEN)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    engine = make_engine(settings.database_url)
    _seed(make_sessionmaker(engine))
    engine.dispose()
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client


def test_api_page_and_export_search_across_languages(client: TestClient) -> None:
    def api(params: str) -> set[int]:
        response = client.get(f"/api/stories?{params}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert api("q=МВД&collapse=false") == MVD_EVERYWHERE
    assert api("q=МВД&collapse=false&across=0") == {1}
    page = client.get("/?q=МВД&collapse=false", headers=ADMIN).text
    assert "to post officers abroad" in page and 'name="across"' in page
    off = client.get("/?q=МВД&collapse=false&across=0", headers=ADMIN).text
    assert "to post officers abroad" not in off and "МВД" in off
    export = client.get("/api/stories.jsonl?q=МВД&collapse=false", headers=ADMIN)
    assert export.status_code == 200, export.text
    assert {json.loads(line)["id"] for line in export.text.splitlines()} == MVD_EVERYWHERE


def test_cli_search_across_languages_and_off(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    _seed(make_sessionmaker(engine))
    engine.dispose()
    reset_context(AppContext(settings=settings))
    try:
        runner = CliRunner()
        found = runner.invoke(cli_app, ["search", "МВД", "--format", "json"])
        assert found.exit_code == 0, found.output
        rows = [json.loads(line) for line in found.output.splitlines()]
        assert {r["id"] for r in rows} == MVD_EVERYWHERE
        assert all("≈" not in r["matched"] and "@" not in r["matched"] for r in rows)
        off = runner.invoke(cli_app, ["search", "МВД", "--no-across-languages", "--format", "json"])
        assert {json.loads(line)["id"] for line in off.output.splitlines()} == {1}
    finally:
        reset_context(None)
