"""Cluster a batch of stories outside the crawler, through the very same database path.

The ``dedup`` command and the quality bench use this: stories go into a
throw-away SQLite database with the real migrations applied and are placed by
``NearDuplicateIndex`` exactly as the store pipeline places crawled ones, so
what they measure is what runs in production.

A later story can merge two clusters (it bridges copies that arrived out of
order), so clusters are read back only after the last story: ``results()``.
The input order and each line's story live in a scratch table of the same
database, not in memory.
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
from typing import Any, cast

from db.events import count_terms
from db.migrate import upgrade
from db.models import Story
from db.session import make_engine, make_sessionmaker
from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler.dedup.index import NearDuplicateIndex
from crawler.dedup.minhash import signature_for
from crawler.events.index import EventIndex
from crawler.events.pairs import signature_keys
from crawler.events.signature import EventSignature, signature_of
from crawler.urls import canonicalize_url, url_key

# Stories per transaction: big enough to be fast, small enough to keep the WAL short.
BATCH = 500

_stories = cast(Table, Story.__table__)
_scratch = MetaData()
_lines = Table(
    "offline_lines",
    _scratch,
    Column("line", Integer, primary_key=True),
    Column("input_id", Text, nullable=False),  # JSON, so 7 and "7" stay apart
    Column("story_id", Integer, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("match_story_id", Integer),
    Column("jaccard", Float),
)


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
        _scratch.create_all(self.engine)
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
            existing = self.session.execute(
                select(_stories.c.id).where(_stories.c.url_key == key)
            ).scalar_one()
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
        self.session.execute(_lines.insert().values(**line))
        self._pending += 1
        if self._pending >= BATCH:
            self.session.commit()
            self._pending = 0

    def add_all(self, stories: Iterable[InputStory]) -> None:
        """Store a whole batch, counting its words before placing any story in an event.

        Rare words weigh more when comparing reports; counted first, the first
        stories of a batch are weighed as the last ones are.
        """
        batch = [(story, _event_signature(story)) for story in stories]
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
        matched = _stories.alias("matched")
        query = (
            select(
                _lines.c.input_id,
                _stories.c.cluster_id,
                _lines.c.reason,
                matched.c.guid,
                _lines.c.jaccard,
                _stories.c.event_id,
            )
            .join(_stories, _stories.c.id == _lines.c.story_id)
            .outerjoin(matched, matched.c.id == _lines.c.match_story_id)
            .order_by(_lines.c.line)
        )
        for row in self.session.execute(query).yield_per(1000):
            yield Placement(
                json.loads(row.input_id),
                row.cluster_id,
                row.reason,
                json.loads(row.guid) if row.guid else None,
                row.jaccard,
                row.event_id,
            )

    def _insert(self, story: InputStory, key: str, fingerprint: str) -> int | None:
        canonical = canonicalize_url(story.url) if story.url else key
        statement = (
            sqlite_insert(_stories)
            .values(
                url_key=key,
                canonical_url=canonical,
                url=story.url or "",
                guid=json.dumps(story.id, ensure_ascii=False),
                title=story.title,
                body=story.text,
                language=story.language,
                published_at=story.published,
                fetched_at=self._fetched_at,
                fingerprint=fingerprint,
            )
            .on_conflict_do_nothing(index_elements=["url_key"])
            .returning(_stories.c.id)
        )
        inserted: int | None = self.session.execute(statement).scalar_one_or_none()
        return inserted

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
