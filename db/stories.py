"""Single stories, as the crawler's storage and the offline clusterer read them.

Storing, versioning and deleting a story are in ``db.queries``; these are the
reads that sit beside them. Functions take a keyword-only ``session`` and
never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from db.models import Story

_stories = cast(Table, Story.__table__)


def get_story(*, session: Session, story_id: int) -> Story | None:
    return session.get(Story, story_id)


def story_id_by_key(*, session: Session, url_key: str) -> int | None:
    """The id of the story stored under this URL key, if any."""
    story_id: int | None = session.execute(
        select(_stories.c.id).where(_stories.c.url_key == url_key)
    ).scalar_one_or_none()
    return story_id


def touch_stories(*, session: Session, url_keys: Collection[str], when: datetime) -> int:
    """Seen again, unchanged: one UPDATE for all of them; how many rows were stored.

    Keys not stored (deleted or tombstoned since the spider looked) touch nothing.
    """
    if not url_keys:
        return 0
    result = session.execute(
        update(_stories)
        .where(_stories.c.url_key.in_(sorted(url_keys)))
        .values(fetched_at=when)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
