"""`wirewatch search`: query the stored archive from the terminal."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from cli.common import ctx, parse_since, user_errors
from wirewatch.archive import SearchHit, refresh_index, search_archive


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class SortOrder(StrEnum):
    newest = "newest"
    relevance = "relevance"


def search(
    query: str = typer.Argument(..., help='Query: words, "phrases", AND/OR/NOT, (groups).'),
    since: str = typer.Option(None, help="Only stories since a date (2026-11-01) or span (7d)."),
    until: str = typer.Option(None, help="Only stories before a date (2026-11-08) or span ago."),
    source: str = typer.Option(None, help="Only this source (its name)."),
    lang: str = typer.Option(None, help="Only this language (ru, tg, en)."),
    topic: str = typer.Option(None, help="Only stories this topic matched (its slug)."),
    sort: SortOrder = typer.Option(SortOrder.newest, help="newest first, or most relevant first."),
    limit: int = typer.Option(20, min=1, max=1000, help="At most this many results."),
    across: bool = typer.Option(
        True,
        "--across-languages/--no-across-languages",
        help="Each word also finds its equivalents in Russian, Tajik and English "
        "(МВД finds 'interior ministry' and 'ВКД'), from the beat's lexicon and aliases.",
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="Output format."),
    bom: bool = typer.Option(
        False,
        "--bom",
        help="With --format csv: start with a UTF-8 byte order mark, so Excel reads "
        "Cyrillic right (off by default).",
    ),
) -> None:
    """Search stored stories, newest first (the same query language as topics)."""
    c = ctx()
    since_at = parse_since(since, name="--since")
    until_at = parse_since(until, name="--until")
    with user_errors():
        c.require_schema()
        refresh_index(c.factory, limit=1_000_000)
        with c.factory() as session:
            hits = search_archive(
                session,
                query,
                since=since_at,
                until=until_at,
                source=source,
                language=lang,
                topic=topic,
                sort=sort.value,  # type: ignore[arg-type]
                limit=limit,
                across=across,
            )
            rows = [_row(hit) for hit in hits]
    if output == OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif output == OutputFormat.csv:
        if bom:
            sys.stdout.write("\ufeff")
        writer = csv.DictWriter(sys.stdout, fieldnames=list(_row_fields()))
        writer.writeheader()
        writer.writerows(rows)
    else:
        table = Table("published", "source", "lang", "title", title=f"{len(rows)} result(s)")
        for row in rows:
            table.add_row(row["published"][:16], row["source"], row["language"] or "", row["title"])
        c.console.print(table)


def _row_fields() -> tuple[str, ...]:
    return ("id", "published", "source", "language", "title", "url", "event", "matched")


def _row(hit: SearchHit) -> dict[str, Any]:
    story = hit.story
    when = story.published_at or story.fetched_at
    return {
        "id": story.id,
        "published": when.isoformat(),
        "source": hit.source_name,
        "language": story.language,
        "title": story.title,
        "url": story.canonical_url,
        "event": story.event_id,
        "matched": "; ".join(hit.why),
    }


def register(app: typer.Typer) -> None:
    app.command()(search)
