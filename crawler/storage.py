"""Store one sighting of a story: new story, new version of a stored one, or nothing.

Runs inside the caller's transaction. The unique URL key decides "new" (so
two crawler processes racing on one story store it once); near-duplicates
join a cluster rather than being dropped, so "who had it first" survives.
``delete_story`` is the way back out: it undoes what storing did to the
near-duplicate index before the row goes, and leaves a tombstone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import NotFoundError
from db import clusters, events, queries, sources, stories
from sqlalchemy.orm import Session

from crawler.dedup import NearDuplicateIndex, Removal, is_substantive_change
from crawler.items import StoryItem
from crawler.urls import CANONICALIZER_VERSION


def store_story(
    session: Session, item: StoryItem, *, note_source: bool = True
) -> queries.StoreOutcome:
    """Store one sighting in the caller's transaction.

    ``note_source=False`` leaves the source's last-new-story time to the caller,
    which a batch writes once per source instead of once per story.
    """
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
        if note_source and item.source_id is not None:
            sources.record_new_story(session=session, source_id=item.source_id, when=now)
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


@dataclass(frozen=True)
class StoryDeletion:
    """What deleting one story did, for the person who asked for it."""

    story_id: int
    title: str
    removal: Removal
    # Stories left in its cluster (0 when the cluster went with it, or it had none).
    cluster_size: int


def delete_story(session: Session, story_id: int) -> StoryDeletion:
    """Delete a story, keep its cluster true, and tombstone its URL; raises NotFoundError.

    The cluster is recounted before the row goes (``NearDuplicateIndex.remove``):
    deleting the row alone would leave the cluster counting it, and naming it
    as the first report when it was. Runs inside the caller's transaction.
    """
    story = stories.get_story(session=session, story_id=story_id)
    if story is None:
        raise NotFoundError(f"no story with id {story_id}")
    title = story.title
    event_id = story.event_id
    removal = NearDuplicateIndex(session).remove(story_id)
    queries.delete_story(session=session, story_id=story_id)
    if event_id is not None:
        session.flush()
        events.recount(session=session, event_id=event_id)
    size = 0
    if removal.cluster_id is not None and not removal.cluster_deleted:
        size = clusters.cluster_size(session=session, cluster_id=removal.cluster_id)
    return StoryDeletion(story_id, title, removal, size)


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
