"""Try a topic query on the archive before saving it: hits per day and language, a sample.

The preview runs the same matcher the alerts use, over every story of the
last N days, so what it shows is what subscribers would have received. For a
saved topic with a relevance model (``alerts.relevance``), each match also
gets the model's probability, and a match the model doubts (below
``DOUBT_THRESHOLD``) is flagged as a likely false positive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts import relevance
from alerts.relevance import DOUBT_THRESHOLD, RelevanceModel, StoryFeatures
from core.query import Document, analyze_document, parse
from db import archive
from db.catalog import find_topic
from sqlalchemy.orm import Session

BATCH = 1000


@dataclass
class PreviewSample:
    story_id: int
    when: datetime
    source: str
    language: str | None
    title: str
    why: list[str]
    probability: float | None = None  # the topic's model, when it has one

    @property
    def doubtful(self) -> bool:
        return self.probability is not None and self.probability < DOUBT_THRESHOLD


@dataclass
class TopicPreview:
    query: str
    days: int
    scanned: int = 0
    matched: int = 0
    per_day: Counter[str] = field(default_factory=Counter)
    per_language: Counter[str] = field(default_factory=Counter)
    sample: list[PreviewSample] = field(default_factory=list)
    # With a model: how many matches it doubts, and some of them.
    modelled: bool = False
    doubtful: int = 0
    doubtful_sample: list[PreviewSample] = field(default_factory=list)


def saved_or_draft(session: Session, slug_or_query: str) -> str:
    """The query of the saved topic with this slug, else the argument as a draft query."""
    topic = find_topic(session=session, slug=slug_or_query)
    return topic.query if topic is not None else slug_or_query


def saved_model(session: Session, slug_or_query: str) -> RelevanceModel | None:
    """The relevance model of the saved topic with this slug, if it has one."""
    topic = find_topic(session=session, slug=slug_or_query)
    return relevance.model_for(session, topic) if topic is not None else None


def preview_query(
    session: Session,
    query: str,
    *,
    days: int = 90,
    sample_size: int = 10,
    now: datetime | None = None,
    model: RelevanceModel | None = None,
) -> TopicPreview:
    """Match ``query`` (raises QueryError) against the last ``days`` days of stories.

    With ``model``, every match gets its probability and doubtful ones are counted.
    """
    compiled = parse(query)
    now = now or datetime.now(UTC)
    report = TopicPreview(query=query, days=days, modelled=model is not None)
    since = now - timedelta(days=days)
    for story, source_name, published in archive.stories_since(
        session=session, since=since, batch=BATCH
    ):
        report.scanned += 1
        adoc = analyze_document(
            Document(
                title=story.title,
                text=story.body or story.summary,
                lang=story.language,
                source=source_name,
                url=story.canonical_url,
            )
        )
        result = compiled.match(adoc)
        if not result.matched:
            continue
        report.matched += 1
        report.per_day[published.date().isoformat()] += 1
        report.per_language[story.language or "?"] += 1
        sample = PreviewSample(
            story.id,
            published,
            source_name or "",
            story.language,
            story.title,
            list(result.why),
            model.probability(StoryFeatures(adoc)) if model is not None else None,
        )
        if len(report.sample) < sample_size:
            report.sample.append(sample)
        if sample.doubtful:
            report.doubtful += 1
            if len(report.doubtful_sample) < sample_size:
                report.doubtful_sample.append(sample)
    return report
