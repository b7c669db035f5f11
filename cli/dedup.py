"""`wirewatch dedup FILE.jsonl`: which stories in a file are copies of one another.

Runs the production path (a throw-away migrated SQLite database and the
near-duplicate index), so its answer is what the crawler would store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from crawler.dedup.jsonl import InputLineError, read_stories
from crawler.dedup.offline import OfflineClusterer, Placement


def register(app: typer.Typer) -> None:
    app.command("dedup")(dedup)


def dedup(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help='JSON Lines: {"id", "title", "text", optional "url", "source", "published"}.',
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Also print why: reason, matched story id, Jaccard similarity."
    ),
) -> None:
    """Print {"id", "cluster", "event"} per story: equal clusters are copies of one text,
    equal events are reports of one happening (across outlets and languages)."""
    try:
        with OfflineClusterer() as clusterer:
            clusterer.add_all(read_stories(file))
            # Printed at the end: a later story may merge clusters printed earlier.
            for placement in clusterer.results():
                typer.echo(json.dumps(_output(placement, explain), ensure_ascii=False))
    except InputLineError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except UnicodeDecodeError as exc:
        typer.echo(f"error: {file} is not UTF-8 text: {exc.reason} at byte {exc.start}", err=True)
        raise typer.Exit(code=2) from exc


def _output(placement: Placement, explain: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": placement.id,
        "cluster": placement.cluster,
        "event": placement.event,
    }
    if explain:
        result.update(reason=placement.reason, match=placement.match, jaccard=placement.jaccard)
    return result
