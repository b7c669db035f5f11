"""`wirewatch extract` through typer's CliRunner on an app the test builds itself."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.extract import register
from tests.test_extraction import PARAGRAPHS, article_page


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command("noop")
    def noop() -> None:  # a second command keeps "extract" a named subcommand
        """Nothing."""

    return application


@pytest.fixture
def pages(tmp_path: Path) -> dict[str, Path]:
    head = '<meta property="article:published_time" content="2024-03-05T14:30:00+03:00">'
    plain = tmp_path / "article.html"
    plain.write_bytes(article_page(head).encode())
    packed = tmp_path / "article.html.gz"
    packed.write_bytes(gzip.compress(article_page().encode()))
    empty = tmp_path / "login.html"
    empty.write_bytes(b"<html><body><form><input name=u></form></body></html>")
    broken_gz = tmp_path / "broken.html.gz"
    broken_gz.write_bytes(b"not gzip at all")
    return {"plain": plain, "packed": packed, "empty": empty, "broken_gz": broken_gz}


def test_jsonl_one_object_per_file(app: typer.Typer, pages: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        app,
        ["extract", str(pages["plain"]), str(pages["packed"]), "--url", "https://example.org/a"],
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"] for r in records] == [str(pages["plain"]), str(pages["packed"])]
    first = records[0]
    assert first["title"] == "Tajik police office opens in Moscow"
    assert first["body"].split("\n\n") == PARAGRAPHS
    assert first["published"] == "2024-03-05T14:30:00+03:00"
    assert first["language"] == "en"
    assert first["canonical_url"] == "https://example.org/a"
    assert set(first) == {
        "source", "title", "body", "published", "authors", "language", "canonical_url", "method"
    }  # fmt: skip
    assert records[1]["published"] is None


def test_failures_are_reported_and_every_file_is_still_processed(
    app: typer.Typer, pages: dict[str, Path]
) -> None:
    args = ["extract", str(pages["empty"]), str(pages["broken_gz"]), str(pages["plain"])]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 1
    records = json.loads(result.stdout)
    assert [("error" in r) for r in records] == [True, True, False]
    assert "no article text" in records[0]["error"]
    assert "cannot read" in records[1]["error"]
    assert records[2]["title"] == "Tajik police office opens in Moscow"


def test_text_format_is_readable(app: typer.Typer, pages: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["extract", "--format", "text", str(pages["plain"])])
    assert result.exit_code == 0
    assert "title:     Tajik police office opens in Moscow" in result.stdout
    assert PARAGRAPHS[0] in result.stdout


def test_missing_file_is_a_failure_not_a_crash(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "nope.html")])
    assert result.exit_code == 1
    assert "cannot read" in json.loads(result.stdout)["error"]
