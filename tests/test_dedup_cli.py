"""`wirewatch dedup FILE.jsonl` on a real temporary database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from cli.dedup import register
from tests.test_dedup import (
    AGENCY_BODY,
    AGENCY_TITLE,
    ENGLISH_BODY,
    ENGLISH_TITLE,
    OTHER_BODY,
    OTHER_TITLE,
    REPRINT_BODY,
    REPRINT_TITLE,
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """A group, so `dedup` is a subcommand as in the real CLI."""

    return app


def write(tmp_path: Path, lines: list[Any]) -> Path:
    path = tmp_path / "stories.jsonl"
    path.write_text(
        "\n".join(
            line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
            for line in lines
        )
        + "\n",
        encoding="utf-8",
    )
    return path


def run(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, ["dedup", *args])


STORIES = [
    {
        "id": "tass-1",
        "title": AGENCY_TITLE,
        "text": AGENCY_BODY,
        "url": "https://tass.ru/1",
        "published": "2026-11-28T09:00:00+03:00",
    },
    {"id": 2, "title": OTHER_TITLE, "text": OTHER_BODY, "source": "asiaplus"},
    {
        "id": "reprint",
        "title": REPRINT_TITLE,
        "text": REPRINT_BODY,
        "url": "https://lenta.ru/news/5",
    },
    {"id": "en", "title": ENGLISH_TITLE, "text": ENGLISH_BODY, "published": "2026-11-28T06:30:00Z"},
    {
        "id": "tass-again",
        "title": "",
        "text": "whatever",
        "url": "https://TASS.ru/1?utm_source=tg#top",
    },
]


def test_copies_share_a_cluster_and_the_rest_do_not(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, str(write(tmp_path, STORIES)))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["tass-1", 2, "reprint", "en", "tass-again"]
    assert set(rows[0]) == {"id", "cluster", "event"}
    cluster = {r["id"]: r["cluster"] for r in rows}
    assert cluster["reprint"] == cluster["tass-1"] == cluster["tass-again"]
    assert len({cluster["tass-1"], cluster[2], cluster["en"]}) == 3
    event = {r["id"]: r["event"] for r in rows}
    # Copies are one event; the English report of the same act joins them across languages.
    assert event["reprint"] == event["tass-1"] == event["tass-again"] == event["en"]
    assert event[2] != event["tass-1"]


def test_explain_says_why(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, str(write(tmp_path, STORIES)), "--explain")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert rows["tass-1"]["reason"] == "new" and rows["tass-1"]["match"] is None
    assert rows["reprint"]["reason"] == "copy" and rows["reprint"]["match"] == "tass-1"
    assert 0.4 <= rows["reprint"]["jaccard"] < 1
    assert rows["tass-again"]["reason"] == "same-url" and rows["tass-again"]["match"] == "tass-1"


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"title": "x", "text": "y"}', '"id" is required'),
        ('{"id": true, "text": "y"}', '"id" is required'),
        ('{"id": 9, "title": "x"}', '"text" is required'),
        ('{"id": 9, "text": "y", "title": 5}', '"title" must be a string'),
        ('{"id": 9, "text": "y", "published": "yesterday"}', "not an ISO 8601 date"),
        ('{"id": "tass-1", "text": "y"}', "duplicate id 'tass-1' (first on line 1)"),
    ],
)
def test_bad_line_is_reported_with_its_number_and_nothing_is_printed(
    app: typer.Typer, tmp_path: Path, bad_line: str, message: str
) -> None:
    path = write(tmp_path, [STORIES[0], "", bad_line])
    result = run(app, str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}:3: " in result.stderr
    assert message in result.stderr


def test_file_that_is_not_utf8_is_refused(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"id": 1, "text": "Душанбе"}\n'.encode("cp1251"))
    result = run(app, str(path))
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_empty_file_prints_nothing(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    result = run(app, str(path))
    assert result.exit_code == 0 and result.stdout == ""


def test_missing_file_is_a_usage_error(app: typer.Typer, tmp_path: Path) -> None:
    result = run(app, str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    # The usage box wraps at the terminal's width, wherever the long path puts the break.
    words = " ".join(result.output.translate(str.maketrans("│╭╮╰╯─", "      ")).split())
    assert "does not exist" in words
