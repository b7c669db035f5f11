"""Readers' judgments of stories per topic, and what the relevance models read.

One judgment per (topic, story, who): a later one by the same judge replaces
it (``INSERT … ON CONFLICT DO UPDATE``, so two clicks racing each other leave
one row). ``alerts.feedback`` checks who may judge; ``alerts.relevance``
trains on the judgments. Functions take a keyword-only ``session`` and never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from db.models import VIA_MODEL, Story, Topic, TopicFeedback, TopicMatch

ADMIN = "admin"


def subscriber_judge(subscriber_id: int) -> str:
    """The ``who`` of judgments made from a subscriber's signed links."""
    return f"subscriber:{subscriber_id}"


def record_judgment(
    *,
    session: Session,
    topic_id: int,
    story_id: int,
    who: str,
    relevant: bool,
    when: datetime,
    subscriber_id: int | None = None,
) -> None:
    """Store a judgment, replacing this judge's earlier one of the same story and topic."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TopicFeedback).values(
        topic_id=topic_id,
        story_id=story_id,
        who=who,
        subscriber_id=subscriber_id,
        relevant=relevant,
        judged_at=when,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["topic_id", "story_id", "who"],
        set_={"relevant": relevant, "judged_at": when, "subscriber_id": subscriber_id},
    )
    session.execute(stmt)


def judgment_of(
    *, session: Session, topic_id: int, story_id: int, who: str
) -> TopicFeedback | None:
    return session.scalar(
        select(TopicFeedback).where(
            TopicFeedback.topic_id == topic_id,
            TopicFeedback.story_id == story_id,
            TopicFeedback.who == who,
        )
    )


def judgments(
    *, session: Session, topic_id: int, limit: int | None = None
) -> list[tuple[TopicFeedback, Story]]:
    """The topic's judgments with their stories, newest first."""
    stmt = (
        select(TopicFeedback, Story)
        .join(Story, Story.id == TopicFeedback.story_id)
        .where(TopicFeedback.topic_id == topic_id)
        .order_by(TopicFeedback.judged_at.desc(), TopicFeedback.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(judgment, story) for judgment, story in session.execute(stmt)]


def story_judgments(*, session: Session, story_id: int) -> dict[int, tuple[int, int]]:
    """Per topic id: how many judges marked this story relevant, and how many not."""
    rows = session.execute(
        select(TopicFeedback.topic_id, TopicFeedback.relevant, func.count())
        .where(TopicFeedback.story_id == story_id)
        .group_by(TopicFeedback.topic_id, TopicFeedback.relevant)
    ).all()
    counts: dict[int, tuple[int, int]] = {}
    for topic_id, relevant, n in rows:
        yes, no = counts.get(topic_id, (0, 0))
        counts[topic_id] = (yes + int(n), no) if relevant else (yes, no + int(n))
    return counts


@dataclass(frozen=True)
class FeedbackStamp:
    """Enough to tell whether a topic's judgments changed since a model was trained."""

    count: int
    latest: datetime | None


def feedback_stamps(*, session: Session, topic_ids: Sequence[int]) -> dict[int, FeedbackStamp]:
    """Per topic id (those with judgments): how many there are and when the latest was made."""
    if not topic_ids:
        return {}
    rows = session.execute(
        select(TopicFeedback.topic_id, func.count(), func.max(TopicFeedback.judged_at))
        .where(TopicFeedback.topic_id.in_(topic_ids))
        .group_by(TopicFeedback.topic_id)
    ).all()
    return {topic_id: FeedbackStamp(int(n), latest) for topic_id, n, latest in rows}


def judged_stories(*, session: Session, topic_id: int) -> list[tuple[Story, int, int]]:
    """Every story judged for the topic, with its relevant and not-relevant votes."""
    votes: dict[int, tuple[int, int]] = {}
    for story_id, relevant in session.execute(
        select(TopicFeedback.story_id, TopicFeedback.relevant).where(
            TopicFeedback.topic_id == topic_id
        )
    ):
        yes, no = votes.get(story_id, (0, 0))
        votes[story_id] = (yes + 1, no) if relevant else (yes, no + 1)
    if not votes:
        return []
    stories = session.scalars(
        select(Story).options(joinedload(Story.source)).where(Story.id.in_(list(votes)))
    )
    return [(story, *votes[story.id]) for story in sorted(stories, key=lambda s: s.id)]


def model_added_stories(*, session: Session, topic_id: int, limit: int = 500) -> list[Story]:
    """Stories the topic's relevance model added (the query missed them), newest first."""
    return list(
        session.scalars(
            select(Story)
            .join(TopicMatch, TopicMatch.story_id == Story.id)
            .where(TopicMatch.topic_id == topic_id, TopicMatch.via == VIA_MODEL)
            .order_by(TopicMatch.matched_at.desc(), TopicMatch.id.desc())
            .limit(limit)
        )
    )


def model_topics(*, session: Session) -> list[Topic]:
    """Enabled topics whose relevance model is switched on."""
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.enabled.is_(True), Topic.model_enabled.is_(True))
            .order_by(Topic.id)
        )
    )


def topic_by_id(*, session: Session, topic_id: int) -> Topic | None:
    return session.get(Topic, topic_id)


def verdicts_of(*, session: Session, story_id: int, who: str) -> dict[int, bool]:
    """Per topic id: this judge's verdict on the story."""
    rows = session.execute(
        select(TopicFeedback.topic_id, TopicFeedback.relevant).where(
            TopicFeedback.story_id == story_id, TopicFeedback.who == who
        )
    ).all()
    return {topic_id: bool(relevant) for topic_id, relevant in rows}
