"""Looking up the catalog of sources and topics without insisting that a name exists.

``db.queries`` has the lookups that raise NotFoundError and the upserts;
``wirewatch.catalog`` holds the rules every change goes through. Functions take a
keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Topic


def find_topic(*, session: Session, slug: str) -> Topic | None:
    return session.scalar(select(Topic).where(Topic.slug == slug))
