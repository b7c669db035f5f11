"""Store one sighting of a story: new story, new version of a stored one, or nothing.

Runs inside the caller's transaction. The unique URL key decides "new" (so
two crawler processes racing on one story store it once); near-duplicates
join a cluster rather than being dropped, so "who had it first" survives.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from crawler.dedup import NearDuplicateIndex, is_substantive_change
from crawler.items import StoryItem
from crawler.urls import CANONICALIZER_VERSION
from db import queries
from db.models import Source


def store_story(session: Session, item: StoryItem) -> queries.StoreOutcome:
    now = item.fetched_at or datetime.now(UTC)
    if queries.is_tombstoned(session=session, url_key=item.url_key):
        return queries.StoreOutcome(None, "tombstoned")
    record = _record(item, now)
    new_id = queries.insert_story_if_new(session=session, record=record)
    if new_id is not None:
        NearDuplicateIndex(session).assign(
            new_id,
            item.signature,
            language=item.language,
            published_at=item.published,
            fetched_at=now,
        )
        if item.source_id is not None:
            session.execute(
                update(Source).where(Source.id == item.source_id).values(last_new_story_at=now)
            )
        return queries.StoreOutcome(new_id, "new")
    story = queries.story_by_key(session=session, url_key=item.url_key)
    if story is None:  # deleted between the insert and this read
        return queries.StoreOutcome(None, "duplicate")
    if (
        not item.already_stored
        and story.fingerprint != record.fingerprint
        and is_substantive_change(story.title, story.body, record.title, record.body)
    ):
        queries.record_new_version(session=session, story=story, record=record, when=now)
        # Keep the near-duplicate bands in step with the new text (the cluster stays).
        NearDuplicateIndex(session).reindex(story.id, item.signature)
        return queries.StoreOutcome(story.id, "updated")
    queries.touch_story(session=session, story=story, when=now)
    return queries.StoreOutcome(story.id, "duplicate")


def _record(item: StoryItem, now: datetime) -> queries.StoryRecord:
    return queries.StoryRecord(
        url_key=item.url_key,
        canonical_url=item.canonical_url,
        url=item.url,
        canonicalizer_version=CANONICALIZER_VERSION,
        guid=item.guid,
        source_id=item.source_id,
        title=item.title,
        body=item.body,
        summary=item.summary,
        authors=list(item.authors),
        language=item.language,
        published_at=item.published,
        published_estimated=item.published_estimated,
        fetched_at=now,
        fingerprint=item.fingerprint,
        extraction_method=item.extraction_method,
    )
