"""Single stories, as the crawler's storage and the offline clusterer read them.

Storing, versioning and deleting a story are in ``db.queries``; these are the
reads that sit beside them. Functions take a keyword-only ``session`` and
never commit.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
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
