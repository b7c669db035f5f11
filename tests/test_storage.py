"""Storage on both engines: migrations, idempotent inserts, concurrent writers, tombstones."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, Integer, String, column, func, inspect, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from db import queries
from db.migrate import (
    alembic_config,
    check,
    code_head,
    downgrade,
    linear_head,
    revisions,
    upgrade,
)
from db.models import (
    Cluster,
    Delivery,
    DeliveryStatus,
    Digest,
    Story,
    StoryVersion,
    Tombstone,
    UTCDateTime,
)
from db.search import schema as search_schema
from db.search import sync
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from tests.test_digest_fixtures import subscribe


def record(n: int) -> queries.StoryRecord:
    return story_record(
        n,
        f"https://example.org/news/{n}",
        url=f"https://example.org/news/{n}?utm_source=rss",
        title=f"Story {n}",
        body=f"Body of story {n}",
        language="en",
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_migrations_match_models_and_go_both_ways(database_url: str) -> None:
    check(database_url)
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert "stories" not in inspect(engine).get_table_names()
    engine.dispose()
    upgrade(database_url)
    check(database_url)


def test_schema_check_names_the_head_alembic_names_and_refuses_an_older_database(
    database_url: str,
) -> None:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert code_head() == head
    assert revisions(database_url) == (head, head)
    downgrade(database_url, "0005")
    try:
        assert revisions(database_url) == ("0005", head)
    finally:
        upgrade(database_url)


def _script(directory: Path, name: str, header: str) -> None:
    (directory / f"{name}.py").write_text(f"{header}\n\ndef upgrade() -> None:\n    pass\n")


def test_head_from_literals_only_for_a_plain_chain(tmp_path: Path) -> None:
    """Anything but one plain chain of literal identifiers is left to Alembic (None)."""
    _script(tmp_path, "__init__", "")
    _script(tmp_path, "a", 'revision = "a"\ndown_revision = None')
    _script(tmp_path, "b", 'revision: str = "b"\ndown_revision: str | None = "a"')
    assert linear_head(tmp_path) == "b"
    for name, header in [
        ("c", 'revision = "c"\ndown_revision = ("a", "b")'),  # a merge
        ("c", 'revision = "c"\ndown_revision = "a"'),  # a second head
        ("c", 'revision = "c"\ndown_revision = "b"\ndepends_on = "a"'),
        ("c", 'revision = "c"\ndown_revision = "x"'),  # an unknown down revision
        ("c", 'revision = "c"\ndown_revision = PREVIOUS'),  # not a literal
        ("c", 'down_revision = "b"'),  # no revision
        ("c", 'revision = "b"\ndown_revision = "a"'),  # the same revision twice
    ]:
        _script(tmp_path, name, header)
        assert linear_head(tmp_path) is None, header
    _script(tmp_path, "c", 'revision = "c"\ndown_revision = "b"')
    assert linear_head(tmp_path) == "c"


def test_band_index_survives_the_clustered_layout_migration(database_url: str) -> None:
    """0004 rebuilds lsh_bands; stored band hashes must come through both ways."""
    downgrade(database_url, "0003")
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        story_id = queries.insert_story_if_new(session=session, record=record(7))
    bands = [(story_id, band, (band + 1) * 1_000_003 + (1 << 62)) for band in range(32)]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO lsh_bands (story_id, band, hash) VALUES (:s, :b, :h)"),
            [{"s": s, "b": b, "h": h} for s, b, h in bands],
        )
    read = text("SELECT story_id, band, hash FROM lsh_bands ORDER BY band")
    upgrade(database_url)
    with engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(read)] == bands
    downgrade(database_url, "0003")
    with engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(read)] == bands
    upgrade(database_url)
    engine.dispose()


def _link(session: Session, story_id: int, cluster_id: int) -> None:
    """Set a story's cluster without the ORM, whose Story has columns later revisions add."""
    session.execute(
        text("UPDATE stories SET cluster_id = :c WHERE id = :s"), {"c": cluster_id, "s": story_id}
    )


def _delete_at_an_old_revision(session: Session, story_id: int) -> None:
    session.execute(
        text(
            "INSERT INTO tombstones (url_key, canonical_url, deleted_at) "
            "SELECT url_key, canonical_url, :now FROM stories WHERE id = :s"
        ),
        {"s": story_id, "now": datetime.now(UTC)},
    )
    session.execute(text("DELETE FROM stories WHERE id = :s"), {"s": story_id})


def test_ids_migration_keeps_rows_children_clusters_and_search_triggers(
    database_url: str,
) -> None:
    """0005 rebuilds stories and clusters on SQLite (AUTOINCREMENT): nothing that names one may go.

    The children (bands, versions) would be cascade-deleted with the old
    stories table, and every story unlinked from its cluster with the old
    clusters table, if foreign keys were enforced during the copy; the search
    triggers go with stories and must come back without the index being
    rebuilt. Ids are copied, gaps and all. The next story id is above every id
    the archive still names, here a deleted first report of a cluster; the next
    cluster id is above the highest one stored.
    """
    downgrade(database_url, "0004")
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        inserted = [
            queries.insert_story_if_new(session=session, record=record(n)) for n in range(4)
        ]
    *ids, gone = [story_id for story_id in inserted if story_id is not None]
    assert len(ids) == 3
    with unit_of_work(factory) as session:
        first, merged, newest = (
            Cluster(first_story_id=story_id, size=1, languages={"en": 1})
            for story_id in (gone, ids[1], ids[2])
        )
        session.add_all([first, merged, newest])
        session.flush()
        for story_id, cluster_id in ((ids[0], first.id), (ids[1], newest.id), (ids[2], newest.id)):
            _link(session, story_id, cluster_id)
        session.delete(merged)  # a gap the copy must keep
        session.add(StoryVersion(story_id=ids[0], version=1, title="t", body="b", fingerprint="0"))
        _delete_at_an_old_revision(session, gone)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO lsh_bands (story_id, band, hash) VALUES (:s, :b, :h)"),
            [{"s": s, "b": b, "h": b * 7 + s} for s in ids for b in range(4)],
        )
    with unit_of_work(factory) as session:
        sync(session)
    before = _archive(engine)
    assert before["clusters"] == [(first.id, gone), (newest.id, ids[2])]

    upgrade(database_url)

    assert _archive(engine) == before
    _assert_consistent(engine)
    with unit_of_work(factory) as session:
        assert not sync(session).rebuilt  # the triggers came back: no full reindex
        new = queries.insert_story_if_new(session=session, record=record(5))
        assert new is not None
        cluster = Cluster(first_story_id=new, size=1, languages={"en": 1})
        session.add(cluster)
        session.flush()
        _link(session, new, cluster.id)
    assert new > gone and cluster.id > newest.id
    if engine.dialect.name == "sqlite":
        assert _sequences(engine) == {"stories": new, "clusters": cluster.id}

    downgrade(database_url, "0004")
    assert _archive(engine) == {
        **before,
        "stories": [*before["stories"], (new, cluster.id)],
        "clusters": [*before["clusters"], (cluster.id, new)],
    }
    _assert_consistent(engine)
    if engine.dialect.name == "sqlite":
        assert _sequences(engine) == {}
    upgrade(database_url)
    engine.dispose()


def test_cluster_sequence_starts_above_an_id_a_story_still_names(database_url: str) -> None:
    """A story naming a deleted cluster (foreign keys were off) keeps that id from a new one."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL always enforces the reference, and its sequence never goes back")
    downgrade(database_url, "0004")
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        story_id = queries.insert_story_if_new(session=session, record=record(1))
        kept, gone = (Cluster(first_story_id=story_id, size=1, languages={}) for _ in range(2))
        session.add_all([kept, gone])
        session.flush()
        assert story_id is not None
        _link(session, story_id, gone.id)
    with engine.connect() as conn:
        driver = conn.connection.driver_connection  # outside a transaction: the pragma counts
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")
        driver.execute("DELETE FROM clusters WHERE id = ?", (gone.id,))
        driver.execute("PRAGMA foreign_keys=ON")
        # (table, rowid, parent); not the constraint's index, which the rebuild may renumber
        dangling = [row[:3] for row in conn.exec_driver_sql("PRAGMA foreign_key_check")]
    assert dangling == [("stories", story_id, "clusters")]

    upgrade(database_url)

    with unit_of_work(factory) as session:
        cluster = Cluster(first_story_id=story_id, size=1, languages={})
        session.add(cluster)
    assert cluster.id > gone.id > kept.id
    with engine.connect() as conn:
        assert [row[:3] for row in conn.exec_driver_sql("PRAGMA foreign_key_check")] == dangling
    engine.dispose()


def test_released_digests_keep_their_period_key_and_stop_holding_it(database_url: str) -> None:
    """0007: a ``~<id>`` suffix on a period key becomes ``released_at`` and the key as it was.

    The unique key then covers live digests only: a released one may share its
    period with the digest that replaced it, or with a new one. On SQLite the
    digests table is rebuilt, and every delivery must keep its digest.
    """
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    # Subscriber and story through today's models, before going back: tables the
    # later revisions widen (topics, stories) are then written as they were.
    with unit_of_work(factory) as session:
        sub_id = subscribe(session, "desk@newsroom.example").id
        story_id = queries.insert_story_if_new(session=session, record=record(1))
    downgrade(database_url, "0006")
    at = [datetime(2026, 11, 28, hour, tzinfo=UTC) for hour in range(8, 12)]
    old = [  # (id, period key, status) as releases left them before 0007
        (1, "D2026-11-28~1", "failed"),  # deferred, then sent again as digest 2
        (2, "D2026-11-28", "sent"),
        (3, "I20261128T120000-5~3", "failed"),  # unknown, released by the operator
        (4, "W2026-48", "unknown"),
    ]
    with engine.begin() as conn:
        conn.execute(
            _DIGESTS.insert(),
            [
                {"id": i, "subscription_id": sub_id, "period_key": key, "status": status}
                | {"subject": "", "attempts": 1, "created_at": at[i - 1]}
                for i, key, status in old
            ],
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (subscriber_id, story_id, subscription_id, digest_id, "
                "status, story_version, created_at) SELECT subscriber_id, :story, id, 2, "
                "'sent', 1, :at FROM subscriptions WHERE id = :sub"
            ),
            {"story": story_id, "at": at[1], "sub": sub_id},
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('digests_id_seq', 4)"))

    upgrade(database_url)

    _assert_consistent(engine)
    with factory() as session:
        rows = session.execute(
            select(Digest.id, Digest.period_key, Digest.released_at).order_by(Digest.id)
        ).all()
        linked = session.scalars(select(Delivery.digest_id)).all()
    assert [tuple(row) for row in rows] == [
        (1, "D2026-11-28", at[0]),
        (2, "D2026-11-28", None),
        (3, "I20261128T120000-5", at[2]),
        (4, "W2026-48", None),
    ]
    assert linked == [2]
    with pytest.raises(IntegrityError), unit_of_work(factory) as session:
        session.add(Digest(subscription_id=sub_id, period_key="W2026-48", status=_SENT))
    with unit_of_work(factory) as session:  # a released one never holds a period
        released = Digest(
            subscription_id=sub_id, period_key="W2026-48", status=_SENT, released_at=at[3]
        )
        again = Digest(subscription_id=sub_id, period_key="I20261128T120000-5", status=_SENT)
        session.add_all([released, again])

    downgrade(database_url, "0006")

    with engine.connect() as conn:
        keys = conn.execute(text("SELECT id, period_key FROM digests ORDER BY id")).all()
        assert conn.execute(text("SELECT digest_id FROM deliveries")).scalars().all() == [2]
    assert [tuple(row) for row in keys] == [
        (1, "D2026-11-28~1"),
        (2, "D2026-11-28"),
        (3, "I20261128T120000-5~3"),
        (4, "W2026-48"),
        (released.id, f"W2026-48~{released.id}"),
        (again.id, "I20261128T120000-5"),
    ]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            _DIGESTS.insert(),
            {"subscription_id": sub_id, "period_key": "W2026-48", "status": "sent"}
            | {"subject": "", "attempts": 1, "created_at": at[3]},
        )
    upgrade(database_url)
    engine.dispose()


_SENT = DeliveryStatus.SENT
# The digests table as every revision from 0001 on has it (no released_at).
_DIGESTS = table(
    "digests",
    column("id", Integer()),
    column("subscription_id", Integer()),
    column("period_key", String()),
    column("status", String()),
    column("subject", String()),
    column("attempts", Integer()),
    column("created_at", UTCDateTime()),
)


def _archive(engine: Engine) -> dict[str, list[object]]:
    """Every story and cluster id, and every row that names one."""
    queries_by_table = {
        "stories": "SELECT id, cluster_id FROM stories ORDER BY id",
        "story_versions": "SELECT story_id, version FROM story_versions ORDER BY id",
        "lsh_bands": "SELECT story_id, band, hash FROM lsh_bands ORDER BY story_id, band",
        "clusters": "SELECT id, first_story_id FROM clusters ORDER BY id",
    }
    with engine.connect() as conn:
        return {
            table: [row[0] if len(row) == 1 else tuple(row) for row in conn.execute(text(sql))]
            for table, sql in queries_by_table.items()
        }


def _sequences(engine: Engine) -> dict[str, int]:
    """SQLite's AUTOINCREMENT high-water marks, by table."""
    with engine.connect() as conn:
        return {
            name: seq for name, seq in conn.execute(text("SELECT name, seq FROM sqlite_sequence"))
        }


def _assert_consistent(engine: Engine) -> None:
    with engine.connect() as conn:
        assert search_schema.missing_triggers(conn) == []
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalars().all() == ["ok"]
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_second_sighting_inserts_nothing(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        first = queries.insert_story_if_new(session=session, record=record(1))
        again = queries.insert_story_if_new(session=session, record=record(1))
    assert first is not None
    assert again is None
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == 1


def test_times_come_back_timezone_aware(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        story_id = queries.insert_story_if_new(session=session, record=record(2))
    with session_factory() as session:
        story = session.get(Story, story_id)
        assert story is not None and story.published_at is not None
        assert story.published_at.utcoffset() is not None
        assert story.published_at == datetime(2026, 11, 1, tzinfo=UTC)


def test_deleted_story_leaves_a_tombstone(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        story_id = queries.insert_story_if_new(session=session, record=record(3))
        assert story_id is not None
    with unit_of_work(session_factory) as session:
        queries.delete_story(session=session, story_id=story_id)
    with session_factory() as session:
        assert queries.is_tombstoned(session=session, url_key=record(3).url_key)
        assert session.get(Tombstone, record(3).url_key) is not None
        known = queries.known_story_keys(session=session, url_keys=[record(3).url_key])
        assert known[record(3).url_key].tombstoned


def _insert_worker(database_url: str, start: int, count: int) -> tuple[int, int]:
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    inserted = errors = 0
    for n in range(start, start + count):
        try:
            with unit_of_work(factory) as session:
                if queries.insert_story_if_new(session=session, record=record(n)) is not None:
                    inserted += 1
        except Exception:  # noqa: BLE001 - any failure counts: the test asserts there are none
            errors += 1
    engine.dispose()
    return inserted, errors


@pytest.mark.slow
def test_four_processes_overlapping_inserts_store_each_story_once(database_url: str) -> None:
    """Four writers, overlapping ranges: every story once, no lock or constraint errors."""
    workers, per_worker, step = 4, 150, 50
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(workers) as pool:
        results = pool.starmap(
            _insert_worker, [(database_url, i * step, per_worker) for i in range(workers)]
        )
    distinct = (workers - 1) * step + per_worker
    assert sum(errors for _, errors in results) == 0
    assert sum(inserted for inserted, _ in results) == distinct
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Story)) == distinct
    engine.dispose()
