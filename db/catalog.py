"""Looking up the catalog of sources and topics without insisting that a name exists.

``db.queries`` has the lookups that raise NotFoundError and the upserts;
``wirewatch.catalog`` holds the rules every change goes through. Functions take a
keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db.models import Source, Story, Topic


def find_topic(*, session: Session, slug: str) -> Topic | None:
    return session.scalar(select(Topic).where(Topic.slug == slug))


def find_source(*, session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def count_source_stories(*, session: Session, source_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Story.source_id == source_id)) or 0)


def delete_source(*, session: Session, source_id: int) -> int:
    """Delete a source, keeping its stories (``source_id`` set to NULL); how many it had."""
    stories = count_source_stories(session=session, source_id=source_id)
    session.execute(update(Story).where(Story.source_id == source_id).values(source_id=None))
    session.execute(delete(Source).where(Source.id == source_id))
    session.expire_all()
    return stories
