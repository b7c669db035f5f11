"""A batch of stories clustered offline: the scratch table of its input lines.

``crawler.dedup.offline`` stores a batch in a throw-away migrated database
and places each story with the near-duplicate index; this table keeps the
input order and each line's story there, not in memory, until the clusters
are read back after the last story. Functions take a keyword-only
``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

from db.models import Story

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


def create_scratch_table(engine: Engine) -> None:
    _scratch.create_all(engine)


def add_line(
    *,
    session: Session,
    line: int,
    input_id: str,
    story_id: int,
    reason: str,
    match_story_id: int | None,
    jaccard: float | None,
) -> None:
    session.execute(
        _lines.insert().values(
            line=line,
            input_id=input_id,
            story_id=story_id,
            reason=reason,
            match_story_id=match_story_id,
            jaccard=jaccard,
        )
    )


def placements(*, session: Session) -> Iterator[Any]:
    """Every line in input order: input_id, cluster_id as it stands now, reason, the
    matched story's guid, jaccard, and the story's event."""
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
    yield from session.execute(query).yield_per(1000)
