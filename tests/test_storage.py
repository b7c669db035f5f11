"""Storage on both engines: migrations, idempotent inserts, concurrent writers, tombstones."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from db import queries
from db.migrate import check, downgrade, upgrade
from db.models import Story, Tombstone
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record


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
