"""Clusters of near-duplicate stories: which story is in which, their sizes and languages.

The near-duplicate index (``crawler.dedup.NearDuplicateIndex``) decides; these
statements carry its decisions out. They run on the session's connection
(Core, not ORM entities: the ORM's per-statement work cost more than the
statements), and each keeps a ``Story`` or ``Cluster`` the caller holds in
the session true to what it wrote. Functions take a keyword-only ``session``
and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.models import Cluster, Story

_stories = cast(Table, Story.__table__)
_clusters = cast(Table, Cluster.__table__)

# The statements every new story runs, built once: constructing them per call
# cost more than the database spent running them.
_NEW_CLUSTER = (
    insert(_clusters)
    .values(
        first_story_id=bindparam("first"),
        first_seen_at=bindparam("seen"),
        size=1,
        languages=bindparam("counts", type_=_clusters.c.languages.type),
    )
    .returning(_clusters.c.id)
)
_SET_CLUSTER = (
    update(_stories)
    .where(_stories.c.id == bindparam("story"))
    .values(cluster_id=bindparam("cluster"))
)
_TEXTS = select(_stories.c.id, _stories.c.title, _stories.c.body).where(
    _stories.c.id.in_(bindparam("ids", expanding=True))
)


def story_cluster(*, session: Session, story_id: int) -> int | None:
    """The cluster a story is in (None: in none, or no such story)."""
    cluster_id: int | None = (
        session.connection()
        .execute(select(_stories.c.cluster_id).where(_stories.c.id == story_id))
        .scalar_one_or_none()
    )
    return cluster_id


def story_texts(*, session: Session, story_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(title, body) of these stories, to verify a candidate copy against."""
    rows = session.connection().execute(_TEXTS, {"ids": list(story_ids)})
    return {row.id: (row.title, row.body) for row in rows}


def new_cluster(
    *, session: Session, story_id: int, seen_at: datetime, languages: dict[str, int]
) -> int:
    """Open a cluster of one with this story as its first report; returns its id."""
    values = {"first": story_id, "seen": seen_at, "counts": languages}
    cluster_id: int = session.connection().execute(_NEW_CLUSTER, values).scalar_one()
    set_story_cluster(session=session, story_id=story_id, cluster_id=cluster_id)
    return cluster_id


def set_story_cluster(*, session: Session, story_id: int, cluster_id: int | None) -> None:
    session.connection().execute(_SET_CLUSTER, {"story": story_id, "cluster": cluster_id})
    cached = session.identity_map.get(session.identity_key(Story, story_id))
    if cached is not None:
        set_committed_value(cached, "cluster_id", cluster_id)


def lock_clusters(*, session: Session, cluster_ids: Sequence[int]) -> dict[int, Any]:
    """Row-lock clusters in id order (PostgreSQL), so joiners and mergers cannot deadlock.

    Returns the clusters that still exist: id, size, languages, first_seen_at,
    first_story_id.
    """
    rows = session.connection().execute(
        select(
            _clusters.c.id,
            _clusters.c.size,
            _clusters.c.languages,
            _clusters.c.first_seen_at,
            _clusters.c.first_story_id,
        )
        .where(_clusters.c.id.in_(cluster_ids))
        .order_by(_clusters.c.id)
        .with_for_update()
    )
    return {row.id: row for row in rows}


def clusters_of(*, session: Session, story_ids: Sequence[int]) -> dict[int, int]:
    """Story id -> the cluster it is in now, for those of these stories in one."""
    rows = session.connection().execute(
        select(_stories.c.id, _stories.c.cluster_id).where(
            _stories.c.id.in_(story_ids),
            _stories.c.cluster_id.is_not(None),
        )
    )
    return {row.id: row.cluster_id for row in rows}


def members(*, session: Session, cluster_id: int) -> list[Any]:
    """id, language, published_at, fetched_at of every story in the cluster."""
    return list(
        session.connection()
        .execute(
            select(
                _stories.c.id,
                _stories.c.language,
                _stories.c.published_at,
                _stories.c.fetched_at,
            ).where(_stories.c.cluster_id == cluster_id)
        )
        .all()
    )


def cluster_size(*, session: Session, cluster_id: int) -> int:
    """How many stories the cluster counts (0 when it is gone)."""
    return session.scalar(select(Cluster.size).where(Cluster.id == cluster_id)) or 0


def update_cluster(*, session: Session, cluster_id: int, **values: Any) -> None:
    session.connection().execute(
        update(_clusters).where(_clusters.c.id == cluster_id).values(**values)
    )
    _forget(session, cluster_id)


def delete_cluster(*, session: Session, cluster_id: int) -> None:
    session.connection().execute(delete(_clusters).where(_clusters.c.id == cluster_id))
    _forget(session, cluster_id)


def merge_clusters(*, session: Session, target: int, absorbed: Sequence[int]) -> None:
    """Move every story of ``absorbed`` into ``target`` and delete the absorbed clusters.

    ``target``'s size and languages are the caller's to recount.
    """
    conn = session.connection()
    conn.execute(
        update(_stories).where(_stories.c.cluster_id.in_(absorbed)).values(cluster_id=target)
    )
    conn.execute(delete(_clusters).where(_clusters.c.id.in_(absorbed)))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Story) and obj.cluster_id in absorbed:
            set_committed_value(obj, "cluster_id", target)
        elif isinstance(obj, Cluster) and obj.id in absorbed:
            session.expunge(obj)


def _forget(session: Session, cluster_id: int) -> None:
    """A Cluster the caller holds in the session would be stale after a Core statement."""
    cached = session.identity_map.get(session.identity_key(Cluster, cluster_id))
    if cached is not None:
        session.expire(cached)
