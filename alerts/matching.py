"""Topic matching: which stored stories belong to which topics, and why.

All enabled topics are compiled once into a percolator index, so each story
is analysed once and checked only against topics whose key terms it
contains. A topic whose query no longer parses is skipped and reported, never
allowed to stop matching for the others (queries are validated when saved).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.errors import QueryError
from core.query import Document, TopicIndex, analyze_document, parse
from db import queries
from db.models import Story
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


@dataclass
class TopicMatcher:
    index: TopicIndex
    slugs: dict[int, str]
    broken: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> TopicMatcher:
        index = TopicIndex()
        slugs: dict[int, str] = {}
        broken: dict[str, str] = {}
        for topic in queries.list_topics(session=session, enabled_only=True):
            try:
                index.add(topic.id, parse(topic.query))
            except QueryError as exc:
                broken[topic.slug] = str(exc)
                log.error("topic %s has an invalid query, skipped: %s", topic.slug, exc)
                continue
            slugs[topic.id] = topic.slug
        return cls(index=index, slugs=slugs, broken=broken)

    def match_story(
        self, session: Session, story: Story, *, now: datetime | None = None
    ) -> list[int]:
        """Record the story's topic matches; returns the ids of topics newly matched."""
        now = now or datetime.now(UTC)
        document = analyze_document(
            Document(
                title=story.title,
                text=story.body or story.summary,
                lang=story.language,
                source=story.source.name if story.source is not None else None,
                url=story.canonical_url,
            )
        )
        new_topics: list[int] = []
        for topic_id, result in self.index.match(document):
            if queries.record_topic_match(
                session=session,
                story_id=story.id,
                topic_id=topic_id,
                why=list(result.why),
                when=now,
            ):
                new_topics.append(topic_id)
        story.matched_at = now
        return new_topics


def match_stories(session: Session, stories: Iterable[Story]) -> int:
    """Match these stories against every enabled topic; returns how many matches were new."""
    matcher = TopicMatcher.load(session)
    return sum(len(matcher.match_story(session, story)) for story in stories)


def match_pending(session: Session, *, batch: int = 500) -> int:
    """Match up to ``batch`` stories stored but not yet matched, in the caller's transaction."""
    return match_stories(session, queries.stories_needing_match(session=session, limit=batch))


def match_all_pending(factory: sessionmaker[Session], *, batch: int = 500) -> int:
    """Match every stored story not yet matched, one transaction per ``batch`` stories.

    This is the one place stories meet topics: the crawler only stores them
    (``matched_at`` stays empty), and every alerts pass starts here, so a story
    is matched once, by whichever pass sees it first, and a crash between
    storing and matching loses nothing.
    """
    total = 0
    while True:
        with unit_of_work(factory) as session:
            stories = queries.stories_needing_match(session=session, limit=batch)
            if not stories:
                return total
            total += match_stories(session, stories)
