"""Sources as a crawl sees them: which to crawl, and what a crawl leaves on them.

Defining, listing and recording fetches of sources are in ``db.queries``.
Functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import queries
from db.models import Source


def sources_for_crawl(
    *,
    session: Session,
    now: datetime,
    names: Sequence[str] | None = None,
    crawl_all: bool = False,
) -> list[Source]:
    """The named sources (NotFoundError for an unknown name), else every enabled one with
    ``crawl_all``, else the enabled ones that are due at ``now``."""
    if names:
        return [queries.get_source(session=session, name=name) for name in names]
    if crawl_all:
        return queries.list_sources(session=session, enabled_only=True)
    return queries.due_sources(session=session, now=now)


def sources_by_id(*, session: Session, ids: Sequence[int]) -> list[Source]:
    """These sources in the order given; an id no longer stored is left out."""
    if not ids:
        return []
    found = {s.id: s for s in session.scalars(select(Source).where(Source.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def record_new_story(*, session: Session, source_id: int, when: datetime) -> None:
    """The source just gave a story not stored before."""
    session.execute(update(Source).where(Source.id == source_id).values(last_new_story_at=when))


def set_validators(
    *, session: Session, source_id: int, etag: str | None, last_modified: str | None
) -> None:
    """Remember a feed's conditional-GET validators (once its items are stored)."""
    session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(etag=etag, last_modified=last_modified)
        .execution_options(synchronize_session=False)
    )


def note_malformed_feed(*, session: Session, source_id: int, problem: str) -> None:
    """The feed was read, entries kept, but it is malformed: say so on the source."""
    source = session.get(Source, source_id)
    if source is not None:
        source.last_error = f"malformed feed (entries kept): {problem}"[:2000]
