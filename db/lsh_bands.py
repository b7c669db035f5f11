"""The near-duplicate band index (``lsh_bands``): locks, candidate lookup, inserts.

Each statement is in the form its engine runs fastest, measured on the
project's bench: SQLite probes the ``(band, hash)`` key once per term of an
``OR`` of equality pairs (it does not for a row-value ``IN``), and inserts 32
rows fastest through the driver's ``executemany`` (SQLAlchemy's per-row
parameter processing cost more than the inserts). PostgreSQL answers a join
against ``unnest`` of two arrays in about half the time of the ``OR`` form
(fewer parameters to plan), and inserts from ``unnest`` in one round trip.
Both forms return the same rows.

Statements are built once and cached: building a 32-term expression per
story cost more than running it, and at a million stories SQLAlchemy's
statement construction was a third of the time a story spent here. They run
on the session's connection (Core, not ORM entities).

Serialising cluster decisions between processes that may see each other's
copies: two crawler processes storing two copies of one agency report at the
same moment would each look up the band index, see nothing (the other's
insert is not committed yet) and each create a cluster.

* PostgreSQL: before the lookup, the transaction takes transaction-scoped
  advisory locks on its band keys (``lock_and_read_cluster``), in sorted
  order (so two transactions cannot deadlock on them). Two near-duplicates
  share at least one band, so the second waits until the first commits;
  under READ COMMITTED (the default) its lookup then sees the first one's
  bands and joins its cluster. Stories with no band in common never wait for
  each other.
* SQLite: the engines made by ``db.session.make_engine`` begin every
  transaction with ``BEGIN IMMEDIATE``, so writers are already serialised and
  each sees everything committed before it started.

Under REPEATABLE READ or SERIALIZABLE on PostgreSQL the snapshot is older than
the lock, so the guarantee above does not hold; keep the store transaction at
READ COMMITTED. Functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, delete, select, text
from sqlalchemy.orm import Session

from db.models import LshBand, Story

# High 32 bits of every dedup advisory lock key, so other advisory-lock users
# (with their own namespace) cannot collide with ours.
LOCK_NAMESPACE = 0x5D1B_0001  # fits a signed 32-bit int

_bands = cast(Table, LshBand.__table__)
_stories = cast(Table, Story.__table__)

_PG_CANDIDATES = text(
    "SELECT b.story_id, s.cluster_id, count(*) AS shared, "
    "count(*) FILTER (WHERE b.band < :full_bands) AS full FROM lsh_bands AS b "
    "JOIN unnest(CAST(:bands AS INTEGER[]), CAST(:hashes AS BIGINT[])) AS q(band, hash) "
    "ON b.band = q.band AND b.hash = q.hash "
    "JOIN stories AS s ON s.id = b.story_id "
    "WHERE b.story_id != :exclude AND s.cluster_id IS NOT NULL "
    "GROUP BY b.story_id, s.cluster_id ORDER BY shared DESC, b.story_id DESC LIMIT :limit"
)
_PG_INSERT = text(
    "INSERT INTO lsh_bands (story_id, band, hash) "
    "SELECT :story_id, u.band, u.hash "
    "FROM unnest(CAST(:bands AS INTEGER[]), CAST(:hashes AS BIGINT[])) AS u(band, hash)"
)
# The story's current cluster, read after taking the band locks, in one round
# trip. Keys are taken in sorted order so two writers cannot deadlock.
_PG_LOCK_AND_READ = text(
    "SELECT s.cluster_id, (SELECT count(pg_advisory_xact_lock(:namespace, l.k)) FROM "
    "(SELECT DISTINCT k FROM unnest(CAST(:keys AS INTEGER[])) AS u(k) ORDER BY k) AS l) "
    "AS locks FROM stories AS s WHERE s.id = :story_id"
)
_SQLITE_INSERT = "INSERT INTO lsh_bands (band, hash, story_id) VALUES (?, ?, ?)"
_STORY_CLUSTER = select(_stories.c.cluster_id).where(_stories.c.id == bindparam("story_id"))
_DELETE = delete(_bands).where(_bands.c.story_id == bindparam("story_id"))


def lock_keys(bands: tuple[int, ...]) -> list[int]:
    """Signed 32-bit lock keys, one per (band, hash), sorted; unrelated stories rarely share one."""
    keys = set()
    for band, value in enumerate(bands):
        mixed = (value ^ (band * 0x9E3779B97F4A7C15)) & 0xFFFF_FFFF
        keys.add(mixed - (1 << 32) if mixed >= 1 << 31 else mixed)
    return sorted(keys)


def lock_and_read_cluster(
    *, session: Session, story_id: int, bands: tuple[int, ...]
) -> tuple[bool, int | None]:
    """(story exists, its cluster id), with the band locks held on PostgreSQL."""
    conn = session.connection()
    if _is_postgres(conn):
        values = {"namespace": LOCK_NAMESPACE, "keys": lock_keys(bands), "story_id": story_id}
        row = conn.execute(_PG_LOCK_AND_READ, values).one_or_none()
    else:
        # SQLite: BEGIN IMMEDIATE already serialises writers (db.session).
        row = conn.execute(_STORY_CLUSTER, {"story_id": story_id}).one_or_none()
    if row is None:
        return False, None
    cluster_id: int | None = row.cluster_id
    return True, cluster_id


def candidates(
    *,
    session: Session,
    bands: tuple[int, ...],
    exclude: int,
    limit: int,
    full_bands: int | None = None,
) -> list[Row[Any]]:
    """(story_id, cluster_id, shared, full) of clustered stories sharing a band.

    ``full`` counts the shared bands numbered below ``full_bands`` (the
    full-text bands; the lead bands follow them); by default every band.
    Most shared bands first, then newest first: reprints follow their source
    within hours, so a recent story is the likelier source.
    """
    if not bands:
        return []
    full = len(bands) if full_bands is None else full_bands
    conn = session.connection()
    if _is_postgres(conn):
        values = {"bands": list(range(len(bands))), "hashes": list(bands), "full_bands": full}
        return list(conn.execute(_PG_CANDIDATES, {**values, "exclude": exclude, "limit": limit}))
    parameters = (full, *bands, exclude, limit)
    return list(conn.exec_driver_sql(_sqlite_candidates(len(bands)), parameters))


def insert_bands(*, session: Session, story_id: int, bands: tuple[int, ...]) -> None:
    if not bands:
        return
    conn = session.connection()
    if _is_postgres(conn):
        values = {"story_id": story_id, "bands": list(range(len(bands))), "hashes": list(bands)}
        conn.execute(_PG_INSERT, values)
        return
    rows = [(band, value, story_id) for band, value in enumerate(bands)]
    conn.exec_driver_sql(_SQLITE_INSERT, rows)


def delete_bands(*, session: Session, story_id: int) -> None:
    """Take a story out of the band index (its text changed, or it is being deleted)."""
    session.connection().execute(_DELETE, {"story_id": story_id})


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


@lru_cache(maxsize=16)
def _sqlite_candidates(bands: int) -> str:
    """Positional SQL: one (band, hash) probe per term, then exclude and limit."""
    terms = " OR ".join(f"(b.band = {i} AND b.hash = ?)" for i in range(bands))
    return (
        "SELECT b.story_id, s.cluster_id, count(*) AS shared, "
        "sum(b.band < ?) AS full FROM lsh_bands AS b "
        "JOIN stories AS s ON s.id = b.story_id "
        f"WHERE ({terms}) AND b.story_id != ? AND s.cluster_id IS NOT NULL "
        "GROUP BY b.story_id, s.cluster_id ORDER BY shared DESC, b.story_id DESC LIMIT ?"
    )
