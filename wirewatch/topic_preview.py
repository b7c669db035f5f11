"""Try a topic query on the archive before saving it: hits per day and language, a sample.

The preview runs the same matcher the alerts use, over every story of the
last N days, so what it shows is what subscribers would have received.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

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


@dataclass
class TopicPreview:
    query: str
    days: int
    scanned: int = 0
    matched: int = 0
    per_day: Counter[str] = field(default_factory=Counter)
    per_language: Counter[str] = field(default_factory=Counter)
    sample: list[PreviewSample] = field(default_factory=list)


def saved_or_draft(session: Session, slug_or_query: str) -> str:
    """The query of the saved topic with this slug, else the argument as a draft query."""
    topic = find_topic(session=session, slug=slug_or_query)
    return topic.query if topic is not None else slug_or_query


def preview_query(
    session: Session,
    query: str,
    *,
    days: int = 90,
    sample_size: int = 10,
    now: datetime | None = None,
) -> TopicPreview:
    """Match ``query`` (raises QueryError) against the last ``days`` days of stories."""
    compiled = parse(query)
    now = now or datetime.now(UTC)
    report = TopicPreview(query=query, days=days)
    since = now - timedelta(days=days)
    for story, source_name, published in archive.stories_since(
        session=session, since=since, batch=BATCH
    ):
        report.scanned += 1
        result = compiled.match(
            analyze_document(
                Document(
                    title=story.title,
                    text=story.body or story.summary,
                    lang=story.language,
                    source=source_name,
                    url=story.canonical_url,
                )
            )
        )
        if not result.matched:
            continue
        report.matched += 1
        report.per_day[published.date().isoformat()] += 1
        report.per_language[story.language or "?"] += 1
        if len(report.sample) < sample_size:
            report.sample.append(
                PreviewSample(
                    story.id,
                    published,
                    source_name or "",
                    story.language,
                    story.title,
                    list(result.why),
                )
            )
    return report
