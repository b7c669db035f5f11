"""The archive builder of bench/events/archive_scale.py: copies, offsets and time shifts.

Only the layout is checked; the bench's timings are never asserted.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.events.archive_scale import STEP, build_archive, build_pool, fresh_stories

POOL = 40


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pool") / "pool.db"
    build_pool(path, POOL, seed=7, batch=20)
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _count(path: Path, table: str) -> int:
    return int(str(_rows(path, f"SELECT count(*) FROM {table}")[0][0]))


def test_cycles_copy_every_row_with_ids_offset_and_times_shifted(
    pool: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "archive.db"
    layout, _seconds = build_archive(pool, archive, 2 * POOL + 1)
    assert layout.cycles == 3
    for table in ("stories", "events", "clusters", "event_signatures", "event_keys", "lsh_bands"):
        assert _count(archive, table) == 3 * _count(pool, table), table
    assert _count(archive, "search_queue") == 3 * POOL  # the insert trigger ran

    first = _rows(pool, "SELECT id, published_at, event_id, cluster_id FROM stories WHERE id = 1")
    last_id = 1 + 2 * layout.story_stride
    copied = _rows(
        archive, f"SELECT id, published_at, event_id, cluster_id FROM stories WHERE id = {last_id}"
    )
    (_, published, event_id, cluster_id), (_, shifted, copy_event, copy_cluster) = (
        first[0],
        copied[0],
    )
    assert datetime.fromisoformat(str(shifted)) - datetime.fromisoformat(str(published)) == (
        2 * layout.shift
    )
    assert copy_event == int(str(event_id)) + 2 * layout.event_stride
    assert copy_cluster == int(str(cluster_id)) + 2 * layout.cluster_stride
    # The event the copy points at exists, and starts as late as the copy.
    started = _rows(archive, f"SELECT first_at FROM events WHERE id = {copy_event}")[0][0]
    assert str(started) >= str(published)

    # The signature's own time moves with the story; keys carry the story's time.
    (data,) = _rows(archive, f"SELECT data FROM event_signatures WHERE story_id = {last_id}")[0]
    original = _rows(pool, "SELECT data FROM event_signatures WHERE story_id = 1")[0][0]
    moved = datetime.fromisoformat(json.loads(str(data))["p"])
    assert moved - datetime.fromisoformat(json.loads(str(original))["p"]) == 2 * layout.shift
    key_times = _rows(archive, f"SELECT DISTINCT at FROM event_keys WHERE story_id = {last_id}")
    assert key_times == [(shifted,)]

    # Only the last cycle keeps the pool's band hashes: no story is its own copy's duplicate.
    pool_bands = set(_rows(pool, "SELECT band, hash FROM lsh_bands"))
    by_cycle = [
        set(
            _rows(
                archive,
                "SELECT band, hash FROM lsh_bands WHERE story_id > "
                f"{c * layout.story_stride} AND story_id <= {(c + 1) * layout.story_stride}",
            )
        )
        for c in range(3)
    ]
    assert by_cycle[2] == pool_bands
    assert not by_cycle[0] & pool_bands and not by_cycle[1] & pool_bands

    total = _rows(archive, "SELECT df FROM term_frequencies WHERE key = ''")[0][0]
    assert total == 3 * POOL


def test_fresh_stories_follow_the_last_cycle(pool: Path, tmp_path: Path) -> None:
    layout, _seconds = build_archive(pool, tmp_path / "archive.db", 2 * POOL)
    newest_original = datetime.fromisoformat(
        str(
            _rows(
                tmp_path / "archive.db",
                f"SELECT max(published_at) FROM stories WHERE id = {POOL + layout.story_stride}",
            )[0][0]
        )
    )
    fresh = next(s for s in fresh_stories(7, POOL, layout) if s.copy_of is None)
    assert fresh.id > POOL
    # Originals come one per STEP: the fresh one is as far after the last cycle's last
    # story as the stream put it after the pool's.
    gap = fresh.published.replace(tzinfo=None) - newest_original
    assert timedelta(0) < gap <= STEP * (fresh.id - POOL) + timedelta(minutes=90)
