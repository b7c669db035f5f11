"""A topic's relevance model as its editors see it: status, readers' feedback, suggestions.

``wirewatch topics model|feedback|suggest`` call these; the model itself is
``alerts.relevance`` and the judgments are ``db.feedback``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alerts import relevance
from alerts.matching import story_document
from alerts.relevance import RelevanceModel, Suggestion
from core.query import AnalyzedDocument, analyze_document, parse
from db import feedback, queries
from db.archive import topic_match_count
from db.models import Story, Topic, TopicFeedback
from sqlalchemy.orm import Session


@dataclass
class ModelStatus:
    topic: Topic
    seeds: int
    seeds_relevant: int
    judged: int  # stories with judgments that agree more one way than the other
    judged_relevant: int
    model: RelevanceModel | None
    added: int  # matches the model made
    matches: int  # all the topic's matches

    @property
    def trainable(self) -> bool:
        relevant = self.seeds_relevant + self.judged_relevant
        other = self.seeds + self.judged - relevant
        return min(relevant, other) >= relevance.MIN_EXAMPLES


def model_status(session: Session, slug: str) -> ModelStatus:
    topic = queries.get_topic(session=session, slug=slug)
    training = relevance.training_set(session, topic)
    model = relevance.model_for(session, topic)
    return ModelStatus(
        topic=topic,
        seeds=len(training.seeds),
        seeds_relevant=sum(e.relevant for e in training.seeds),
        judged=len(training.judged),
        judged_relevant=sum(r for _, r in training.judged),
        model=model,
        added=len(feedback.model_added_stories(session=session, topic_id=topic.id, limit=100_000)),
        matches=topic_match_count(session=session, topic_id=topic.id),
    )


def set_model_enabled(session: Session, slug: str, enabled: bool) -> Topic:
    """Switch the topic's model on or off; off, only the query decides (earlier matches stay)."""
    topic = queries.get_topic(session=session, slug=slug)
    topic.model_enabled = enabled
    session.flush()
    return topic


def judgments(
    session: Session, slug: str, *, limit: int | None = None
) -> tuple[Topic, list[tuple[TopicFeedback, Story]]]:
    """The topic's readers' judgments, newest first."""
    topic = queries.get_topic(session=session, slug=slug)
    return topic, feedback.judgments(session=session, topic_id=topic.id, limit=limit)


@dataclass
class Suggestions:
    topic: Topic
    model: RelevanceModel | None
    missed: int  # relevant stories (judged, seeds, model-added) the query does not match
    terms: list[Suggestion] = field(default_factory=list)


def suggest(session: Session, slug: str, *, limit: int = 20) -> Suggestions:
    """Query terms the model weighs high, from relevant stories the query missed."""
    topic = queries.get_topic(session=session, slug=slug)
    model = relevance.models_for(session, [topic]).get(topic.id)
    if model is None:
        return Suggestions(topic, None, 0)
    query = parse(topic.query)
    training = relevance.training_set(session, topic)
    candidates: list[AnalyzedDocument] = [
        analyze_document(relevance.example_document(e)) for e in training.seeds if e.relevant
    ]
    seen: set[int] = set()
    stories = [s for s, relevant in training.judged if relevant]
    stories += feedback.model_added_stories(session=session, topic_id=topic.id)
    for story in stories:
        if story.id not in seen:
            seen.add(story.id)
            candidates.append(analyze_document(story_document(story)))
    missed = [adoc for adoc in candidates if not query.matches(adoc)]
    terms = relevance.suggest_terms(model, query, missed, limit=limit)
    return Suggestions(topic, model, len(missed), terms)
