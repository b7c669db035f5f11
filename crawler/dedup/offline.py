"""Cluster a batch of stories outside the crawler, through the very same database path.

The ``dedup`` command and the quality bench use this: stories go into a
throw-away SQLite database with the real migrations applied and are placed by
``NearDuplicateIndex`` exactly as the store pipeline places crawled ones, so
what they measure is what runs in production.

A later story can merge two clusters (it bridges copies that arrived out of
order), so clusters are read back only after the last story: ``results()``.
The input order and each line's story live in a scratch table of the same
database (``db.dedup_batches``), not in memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from db import dedup_batches, queries, stories
from db.events import count_terms
from db.migrate import upgrade
from db.models import Story
from db.session import make_engine, make_sessionmaker
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.dedup.index import NearDuplicateIndex
from crawler.dedup.minhash import signature_for
from crawler.events.index import EventIndex
from crawler.events.pairs import signature_keys
from crawler.events.signature import EventSignature, signature_of
from crawler.urls import CANONICALIZER_VERSION, canonicalize_url, url_key

# Stories per transaction: big enough to be fast, small enough to keep the WAL short.
BATCH = 500


@dataclass(frozen=True)
class InputStory:
    id: Any
    title: str
    text: str
    url: str | None = None
    source: str | None = None
    published: datetime | None = None
    language: str | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """One story's final cluster; ``match`` is the input id of the story it was found to copy."""

    id: Any
    cluster: int
    reason: str
    match: Any = None
    jaccard: float | None = None
    event: int | None = None


class OfflineClusterer(AbstractContextManager["OfflineClusterer"]):
    """A temporary migrated SQLite database and one long session over it."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="wirewatch-dedup-")
        folder = directory or Path(self._tmp.name)
        url = f"sqlite:///{folder / 'dedup.db'}"
        upgrade(url)
        self.engine: Engine = make_engine(url)
        dedup_batches.create_scratch_table(self.engine)
        self.session: Session = make_sessionmaker(self.engine)()
        self.index = NearDuplicateIndex(self.session)
        self.events = EventIndex()
        self._pending = 0
        self._count = 0
        self._fetched_at = datetime.now(UTC)

    def add(self, story: InputStory, event_signature: EventSignature | None = None) -> None:
        """Store one story and place it; a repeated canonical URL is the same story."""
        self._count += 1
        key = _key_of(story, self._count)
        signature = signature_for(story.title, story.text)
        story_id = self._insert(story, key, signature.fingerprint)
        line: dict[str, Any] = {"line": self._count, "input_id": json.dumps(story.id)}
        if story_id is None:
            existing = stories.story_id_by_key(session=self.session, url_key=key)
            assert existing is not None  # the insert found it stored
            line.update(story_id=existing, reason="same-url", match_story_id=existing, jaccard=1.0)
        else:
            assignment = self.index.assign_detailed(
                story_id,
                signature,
                language=story.language,
                published_at=story.published,
                fetched_at=self._fetched_at,
            )
            stored = self.session.get(Story, story_id)
            assert stored is not None
            if event_signature is None:
                self.events.place(self.session, stored, _event_signature(story))
            else:
                self.events.place(self.session, stored, event_signature, count=False)
            match = assignment.match
            line.update(
                story_id=story_id,
                reason=assignment.reason,
                match_story_id=match.story_id if match else None,
                jaccard=round(match.similarity.jaccard, 4) if match else None,
            )
        dedup_batches.add_line(session=self.session, **line)
        self._pending += 1
        if self._pending >= BATCH:
            self.session.commit()
            self._pending = 0

    def add_all(self, inputs: Iterable[InputStory]) -> None:
        """Store a whole batch, counting its words before placing any story in an event.

        Rare words weigh more when comparing reports; counted first, the first
        stories of a batch are weighed as the last ones are.
        """
        batch = [(story, _event_signature(story)) for story in inputs]
        seen: set[str] = set()
        for story, signature in batch:
            key = _key_of(story, len(seen) + 1)
            if key not in seen:
                seen.add(key)
                count_terms(session=self.session, terms=signature_keys(signature))
        for story, signature in batch:
            self.add(story, signature)

    def results(self) -> Iterator[Placement]:
        """Every input story in input order, with its cluster as it stands now."""
        self.session.commit()
        for row in dedup_batches.placements(session=self.session):
            yield Placement(
                json.loads(row.input_id),
                row.cluster_id,
                row.reason,
                json.loads(row.guid) if row.guid else None,
                row.jaccard,
                row.event_id,
            )

    def _insert(self, story: InputStory, key: str, fingerprint: str) -> int | None:
        record = queries.StoryRecord(
            url_key=key,
            canonical_url=canonicalize_url(story.url) if story.url else key,
            url=story.url or "",
            canonicalizer_version=CANONICALIZER_VERSION,
            guid=json.dumps(story.id, ensure_ascii=False),
            source_id=None,
            title=story.title,
            body=story.text,
            summary="",
            authors=[],
            language=story.language,
            published_at=story.published,
            published_estimated=False,
            fetched_at=self._fetched_at,
            fingerprint=fingerprint,
            extraction_method=None,
        )
        return queries.insert_story_if_new(session=self.session, record=record)

    def close(self) -> None:
        self.session.rollback()
        self.session.close()
        self.engine.dispose()
        self._tmp.cleanup()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _key_of(story: InputStory, number: int) -> str:
    return url_key(canonicalize_url(story.url)) if story.url else f"input:{number}"


def _event_signature(story: InputStory) -> EventSignature:
    return signature_of(
        title=story.title,
        text=story.text,
        lang=story.language,
        published=story.published,
        url=story.url,
        links=frozenset(story.links),
        source=story.source,
    )
