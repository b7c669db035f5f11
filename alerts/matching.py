"""Topic matching: which stored stories belong to which topics, and why.

All enabled topics are compiled once into a percolator index, so each story
is analysed once and checked only against topics whose key terms it
contains. A topic whose query no longer parses is skipped and reported, never
allowed to stop matching for the others (queries are validated when saved).

Then each topic with a relevance model (``alerts.relevance``: switched on,
and enough labelled examples) may add a story its query missed, when the
model is confident; such a match is recorded with ``via="model"`` and says
so in its "why" line. The query stays primary: the model never removes a
match, and is only consulted for stories the query did not match.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.errors import QueryError
from core.query import AnalyzedDocument, Document, TopicIndex, analyze_document, parse
from db import feedback, queries
from db.models import VIA_MODEL, VIA_QUERY, Story
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alerts.relevance import RelevanceModel

# ``alerts.relevance`` (NumPy) and ``db.search`` are imported where a story is
# matched: `wirewatch crawl` imports this module, and after a crawl that stored
# nothing new it never needs them (about 0.15 s of its start-up).

log = logging.getLogger(__name__)


def story_document(story: Story) -> Document:
    """A stored story as the matcher (and the relevance model) reads it."""
    return Document(
        title=story.title,
        text=story.body or story.summary,
        lang=story.language,
        source=story.source.name if story.source is not None else None,
        url=story.canonical_url,
    )


@dataclass(frozen=True)
class Found:
    """One topic a story belongs to: why, and whether the query or the model said so."""

    topic_id: int
    why: list[str]
    via: str = VIA_QUERY


@dataclass
class TopicMatcher:
    index: TopicIndex
    slugs: dict[int, str]
    broken: dict[str, str] = field(default_factory=dict)
    models: dict[int, RelevanceModel] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, with_models: bool = True) -> TopicMatcher:
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
        models: dict[int, RelevanceModel] = {}
        topics = (
            [t for t in feedback.model_topics(session=session) if t.id in slugs]
            if with_models
            else []
        )
        if topics:  # no model, no NumPy to import
            from alerts import relevance

            models = relevance.models_for(session, topics)
        return cls(index=index, slugs=slugs, broken=broken, models=models)

    def matches(self, document: AnalyzedDocument) -> list[Found]:
        """The topics an analysed story belongs to: the queries' matches, then the models'."""
        found = [
            Found(topic_id, list(result.why)) for topic_id, result in self.index.match(document)
        ]
        if self.models:
            from alerts import relevance

            matched = {f.topic_id for f in found}
            features = relevance.StoryFeatures(document)
            for topic_id, model in self.models.items():
                if topic_id in matched:
                    continue
                probability = model.adds(features)
                if probability is not None:
                    found.append(Found(topic_id, [relevance.model_why(probability)], VIA_MODEL))
        return found

    def match_story(
        self,
        session: Session,
        story: Story,
        *,
        now: datetime | None = None,
        analysed: dict[int, AnalyzedDocument] | None = None,
    ) -> list[int]:
        """Record the story's topic matches; returns the ids of topics newly matched.

        The story's analysis is left in ``analysed`` (by story id) for the
        search index, which would otherwise make the same one again.
        """
        now = now or datetime.now(UTC)
        document = analyze_document(story_document(story))
        if analysed is not None:
            analysed[story.id] = document
        found = self.matches(document)
        new = queries.record_topic_matches(
            session=session,
            story_id=story.id,
            matches=[(f.topic_id, f.why, f.via) for f in found],
            when=now,
        )
        story.matched_at = now
        return [f.topic_id for f in found if f.topic_id in new]


def match_stories(session: Session, stories: Iterable[Story], *, index: bool = True) -> int:
    """Match these stories against every enabled topic; returns how many matches were new.

    With ``index`` the stories are then indexed for search from the same
    analyses, in the same transaction (see ``db.search.index_analysed``): one
    analysis per story for both, where the web app's indexer made its own.
    """
    matcher = TopicMatcher.load(session)
    analysed: dict[int, AnalyzedDocument] = {}
    # The stories' matched_at is written once, in one batch, not flushed story by
    # story before each story's matches are recorded (which need no flush).
    with session.no_autoflush:
        new = sum(len(matcher.match_story(session, story, analysed=analysed)) for story in stories)
    if index:
        from db import search

        session.flush()  # matched_at is written before the index reads the rows
        search.index_analysed(session, analysed)
    return new


def match_pending(session: Session, *, batch: int = 500) -> int:
    """Match up to ``batch`` stories stored but not yet matched, in the caller's transaction."""
    return match_stories(session, queries.stories_needing_match(session=session, limit=batch))


def match_all_pending(factory: sessionmaker[Session], *, batch: int = 500) -> int:
    """Match every stored story not yet matched, one transaction per ``batch`` stories.

    This is the one place stories meet topics: the crawler only stores them
    (``matched_at`` stays empty), and every alerts pass starts here, so a story
    is matched once, by whichever pass sees it first, and a crash between
    storing and matching loses nothing. Relevance models are trained here when
    a topic's judgments changed since this process last trained them.
    """
    total = 0
    while True:
        with unit_of_work(factory) as session:
            stories = queries.stories_needing_match(session=session, limit=batch)
            if not stories:
                return total
            total += match_stories(session, stories)
