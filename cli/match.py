"""`wirewatch match`: which stories in a JSON Lines file a topic matches (for evaluation)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cli.common import ctx, user_errors
from core.errors import ConfigError, NotFoundError
from core.query import Document, analyze_document, parse
from db import queries
from wirewatch.bootstrap import read_yaml_list


def _topic_query(slug: str) -> str:
    """The topic's query from the archive, else from the topics file (works before `init`)."""
    c = ctx()
    try:
        c.require_schema()
        with c.factory() as session:
            return queries.get_topic(session=session, slug=slug).query
    except NotFoundError:
        pass
    for item in read_yaml_list(c.settings.topics_file, "topics"):
        if item.get("slug") == slug:
            return str(item["query"])
    raise NotFoundError(f"no topic {slug!r} in the archive or in {c.settings.topics_file}")


def match(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSON Lines: id, title, text, [lang, url, source]."
    ),
    topic: str = typer.Option(None, "--topic", "-t", help="Topic slug."),
    query: str = typer.Option(None, "--query", "-q", help="A query instead of a saved topic."),
    why: bool = typer.Option(
        False, "--why", help="Also print the story's words that matched, quoted, tab-separated."
    ),
) -> None:
    """Print the id of each story in FILE that the topic (or query) matches, one per line."""
    with user_errors():
        if (topic is None) == (query is None):
            raise ConfigError("give exactly one of --topic or --query")
        compiled = parse(query if query is not None else _topic_query(topic))
        with file.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    story_id = obj["id"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise ConfigError(
                        f"{file}:{number}: not a story object with an 'id': {exc}"
                    ) from exc
                document = analyze_document(
                    Document(
                        title=str(obj.get("title") or ""),
                        text=str(obj.get("text") or ""),
                        lang=obj.get("lang"),
                        source=obj.get("source"),
                        url=obj.get("url"),
                    )
                )
                result = compiled.match(document)
                if result.matched:
                    suffix = "\t" + "; ".join(result.why) if why else ""
                    sys.stdout.write(f"{story_id}{suffix}\n")


def register(app: typer.Typer) -> None:
    app.command()(match)
