"""Reading the archive for its readers: stories with their source, a story's cluster and
earlier versions, a topic's matches, stories per source, recent stories to preview a query.

``wirewatch.archive`` and ``wirewatch.topic_preview`` build pages, exports and
previews from these (searching itself is ``db.search``). Functions take a
keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from db.models import Source, Story, StoryVersion, TopicMatch

CLUSTER_MEMBERS = 200


def stories_by_id(*, session: Session, ids: Sequence[int]) -> dict[int, Story]:
    """These stories (those that still exist), each with its source loaded."""
    if not ids:
        return {}
    stmt = select(Story).options(joinedload(Story.source)).where(Story.id.in_(ids))
    return {story.id: story for story in session.scalars(stmt)}


def story_with_source(*, session: Session, story_id: int) -> Story | None:
    return session.scalar(
        select(Story).options(joinedload(Story.source)).where(Story.id == story_id)
    )


def cluster_members(
    *, session: Session, story: Story, limit: int = CLUSTER_MEMBERS
) -> list[tuple[Story, str | None]]:
    """The other stories of the story's cluster with their source's name, oldest first."""
    if story.cluster_id is None:
        return []
    when = func.coalesce(Story.published_at, Story.fetched_at)
    rows = session.execute(
        select(Story, Source.name)
        .outerjoin(Source, Story.source_id == Source.id)
        .where(Story.cluster_id == story.cluster_id, Story.id != story.id)
        .order_by(when, Story.id)
        .limit(limit)
    ).all()
    return [(member, name) for member, name in rows]


def story_versions(*, session: Session, story_id: int) -> list[StoryVersion]:
    """The story's earlier texts, newest first."""
    return list(
        session.scalars(
            select(StoryVersion)
            .where(StoryVersion.story_id == story_id)
            .order_by(StoryVersion.version.desc())
        )
    )


def stories_per_source(*, session: Session, since: datetime | None = None) -> dict[int | None, int]:
    """How many stories each source has (dated ``since`` or later); None: no source."""
    stmt = select(Story.source_id, func.count()).group_by(Story.source_id)
    if since is not None:
        stmt = stmt.where(func.coalesce(Story.published_at, Story.fetched_at) >= since)
    return {source_id: int(count) for source_id, count in session.execute(stmt)}


def topic_match_count(*, session: Session, topic_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(TopicMatch).where(TopicMatch.topic_id == topic_id)
    )
    return int(count or 0)


def latest_topic_matches(
    *, session: Session, topic_id: int, limit: int
) -> list[tuple[TopicMatch, Story, str | None]]:
    """The topic's most recent matches with their story and its source's name."""
    rows = session.execute(
        select(TopicMatch, Story, Source.name)
        .join(Story, Story.id == TopicMatch.story_id)
        .outerjoin(Source, Story.source_id == Source.id)
        .where(TopicMatch.topic_id == topic_id)
        .order_by(TopicMatch.matched_at.desc(), TopicMatch.id.desc())
        .limit(limit)
    ).all()
    return [(match, story, name) for match, story, name in rows]


def stories_since(
    *, session: Session, since: datetime, batch: int = 1000
) -> Iterator[tuple[Story, str | None, datetime]]:
    """Every story dated ``since`` or later, newest first, with its source's name and date.

    Read ``batch`` rows at a time, so memory stays flat over a long span.
    """
    when = func.coalesce(Story.published_at, Story.fetched_at)
    stmt = (
        select(Story, Source.name, when)
        .outerjoin(Source, Story.source_id == Source.id)
        .where(when >= since)
        .order_by(when.desc(), Story.id.desc())
        .execution_options(yield_per=batch)
    )
    yield from session.execute(stmt)
