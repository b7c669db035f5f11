"""Try a topic query on the archive before saving it: hits per day and language, a sample.

The preview runs the same matcher the alerts use, over every story of the
last N days, so what it shows is what subscribers would have received.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.query import Document, analyze_document, parse
from db.models import Source, Story
from sqlalchemy import func, select
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
    when = func.coalesce(Story.published_at, Story.fetched_at)
    stmt = (
        select(Story, Source.name, when)
        .outerjoin(Source, Story.source_id == Source.id)
        .where(when >= now - timedelta(days=days))
        .order_by(when.desc(), Story.id.desc())
    )
    for story, source_name, published in session.execute(stmt.execution_options(yield_per=BATCH)):
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
