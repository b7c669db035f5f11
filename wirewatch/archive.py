"""Search the stored archive with the same query language topics use.

Filters (date, source, language) narrow the rows in SQL; the query itself is
evaluated by the topic matcher, newest first, so a search and an alert can
never disagree about what a query means.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Source, Story
from wirewatch.query import Document, analyze_document, parse

MAX_LIMIT = 1000
BATCH = 500


@dataclass(frozen=True)
class SearchHit:
    story: Story
    source_name: str
    why: list[str]


def search_archive(
    session: Session,
    query: str,
    *,
    since: datetime | None = None,
    source: str | None = None,
    language: str | None = None,
    limit: int = 20,
) -> list[SearchHit]:
    """Stories matching ``query`` (raises QueryError), newest first, at most ``limit``."""
    compiled = parse(query)
    limit = max(1, min(limit, MAX_LIMIT))
    hits: list[SearchHit] = []
    for story, source_name in _candidates(session, since=since, source=source, language=language):
        document = analyze_document(
            Document(
                title=story.title,
                text=story.body or story.summary,
                lang=story.language,
                source=source_name,
                url=story.canonical_url,
            )
        )
        result = compiled.match(document)
        if result.matched:
            hits.append(SearchHit(story, source_name or "", list(result.why)))
            if len(hits) >= limit:
                break
    return hits


def _candidates(
    session: Session, *, since: datetime | None, source: str | None, language: str | None
) -> Iterator[tuple[Story, str | None]]:
    when = func.coalesce(Story.published_at, Story.fetched_at)
    stmt = select(Story, Source.name).outerjoin(Source, Story.source_id == Source.id)
    if since is not None:
        stmt = stmt.where(when >= since)
    if source is not None:
        stmt = stmt.where(Source.name == source)
    if language is not None:
        stmt = stmt.where(Story.language == language)
    stmt = stmt.order_by(when.desc(), Story.id.desc())
    offset = 0
    while True:
        rows = session.execute(stmt.limit(BATCH).offset(offset)).all()
        if not rows:
            return
        yield from ((story, name) for story, name in rows)
        offset += BATCH
