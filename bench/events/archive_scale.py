"""The event layer's cost per stored story at archive size, against the near-duplicate layer.

``bench.dedup.scale --events`` places every story of its archive for real
(about 20 ms each), so an archive of a million stories would take days to
build. Placement only ever reads the stories of its window (``WINDOW`` either
side) plus, for a story starting an event, a bounded look-back over the key
index (``followups.LOOKBACK``); what grows with the archive is the size of the
indexes those reads go through, and the number of older stories a look-back
can reach. So the archive is built from a real pool, copied:

1. **Pool (real).** The first ``--pool`` stories of the synthetic
   ``StoryStream`` (one story per 30 s; 25,000 span about 8.7 days, more than
   the ±4-day window) are stored and placed in a fresh database through the
   production path, as ``bench.dedup.scale --events`` does: near-duplicate
   ``signature_for`` + ``NearDuplicateIndex.assign``, then ``signature_of`` +
   ``EventIndex.place``. Its stories, clusters, band hashes, events (with
   their follow-up links), signatures, keys and term counts are the real
   output of that code. The pool is built once and reused for every size.
2. **Archive (copied).** A fresh database receives ``ceil(N / pool)`` copies
   ("cycles") of the pool's rows in bulk, one transaction per cycle (SQLite:
   ``INSERT … SELECT`` from the attached pool, each cycle in the order of the
   table's main index; PostgreSQL: ``COPY``, then ``ANALYZE`` as autovacuum
   would): ``stories``, ``clusters``, ``events``,
   ``event_signatures``, ``event_keys``, ``lsh_bands``, and
   ``term_frequencies`` with every count multiplied by the number of cycles
   (as if each copy had been counted). Cycle ``c`` has every id (story,
   cluster, event, and the ids rows point at) offset by ``c`` times the pool's
   largest id, and every time (publication, fetch, event start, cluster first
   seen, key time, the signature's own publication time) shifted by
   ``c × pool × 30 s``; the last cycle sits latest in time, so a new story
   sees a full window of real rows while the indexes hold N stories. What is
   copied, not real: older cycles repeat the pool's texts, keys and events at
   other times (a look-back a year deep meets the same matters again, once a
   cycle, which a real archive does less neatly), and the band hashes of every
   cycle but the last are XORed with a per-cycle constant, so a story is never
   a near-duplicate of its own copy weeks earlier (a real archive does not
   hold the same text 40 times); they still fill the band index to N stories.
   URLs and URL keys are made distinct per cycle. The search queue is filled
   by the stories' insert trigger as in production; the full-text index
   itself is not built (``bench/archive`` measures it).
3. **Measure (real).** In a process of its own on the archive, ``--fresh``
   stories (the stream's stories after the pool, shifted to follow the last
   cycle) are stored and placed through the same path, ``--batch`` per
   transaction, after ``--warmup`` untimed ones (a long-running worker's
   caches are warm). Per story: CPU time (``time.process_time``, which on
   SQLite includes the database's work) of the near-duplicate layer
   (``signature_for`` + ``assign``), of the event signature and of placement;
   the wall time of each for a p95. Then resident memory peak and database size.

The near-duplicate layer is measured on the same stories in the same run, so
"added cost" is a ratio taken under the same load.

Usage::

    python -m bench.events.archive_scale [--n 25000 100000 1000000] [--pool 25000]
        [--fresh 1000] [--warmup 100] [--workdir DIR] [--pool-db PATH] [--json PATH]
        [--postgres URL [--no-sqlite]]

On PostgreSQL the process's CPU leaves the database's work out; the server
process of the measuring connection is on the same machine, so its CPU
(``/proc``) is reported beside it, per story over all steps.

``--pool-db`` keeps the pool database at PATH and reuses it when it exists
(built with the same ``--pool`` and ``--seed``). Archives are deleted after
each size's run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.databases import scratch_postgres
from bench.dedup.scale import insert_story
from bench.dedup.synthetic import Generated, StoryStream
from bench.memory import peak_rss_mb
from crawler.dedup import NearDuplicateIndex, signature_for
from crawler.events.index import EventIndex
from db.migrate import upgrade
from db.models import Story
from db.session import make_engine, make_sessionmaker

STEP = timedelta(seconds=30)  # the stream's spacing of original stories
# SQLAlchemy's storage format for DateTime on SQLite.
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
# Cycles other than the last get their band hashes XORed with a multiple of this
# (kept to 63 bits, so the sign, and with it the BIGINT range, is unchanged).
_BAND_MIX = 0x9E3779B97F4A7C15
_MASK63 = (1 << 63) - 1


@dataclasses.dataclass
class Timings:
    """Per-story CPU and wall seconds of each step (lists, one entry per story)."""

    cpu: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    wall: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    # PostgreSQL only: the CPU the server process spent on the timed stories' transactions.
    server_seconds: float = 0.0

    def add(self, step: str, cpu: float, wall: float) -> None:
        self.cpu.setdefault(step, []).append(cpu)
        self.wall.setdefault(step, []).append(wall)


def place_stories(
    url: str, stories: Iterator[Generated], count: int, batch: int, timings: Timings | None
) -> int:
    """Store and place ``count`` stories as ``bench.dedup.scale --events`` does;
    with ``timings``, record each step per story. Returns the stories placed."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    done = 0
    try:
        while done < count:
            chunk = list(islice(stories, min(batch, count - done)))
            if not chunk:
                break
            with factory() as session, session.begin():
                server = _server_cpu(session) if timings is not None else None
                for story in chunk:
                    _place_one(session, story, timings)
                if server is not None and timings is not None:
                    timings.server_seconds += server()
                c0, w0 = time.process_time(), time.perf_counter()
            commit_cpu, commit_wall = time.process_time() - c0, time.perf_counter() - w0
            if timings is not None:
                for _ in chunk:
                    timings.add("commit", commit_cpu / len(chunk), commit_wall / len(chunk))
            done += len(chunk)
    finally:
        engine.dispose()
    return done


def _server_cpu(session: Session) -> Callable[[], float] | None:
    """On PostgreSQL on this machine, a clock of the session's server process: calling it
    gives the CPU seconds that process spent since (``/proc``; None elsewhere)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    started = used()
    return lambda: used() - started


def _place_one(session: Session, story: Generated, timings: Timings | None) -> None:
    """One story through the production path: insert, near-duplicate layer, event layer."""
    events = EventIndex()  # stateless apart from the model, which is loaded once
    c0, w0 = time.process_time(), time.perf_counter()
    signature = signature_for(story.title, story.body)
    c1, w1 = time.process_time(), time.perf_counter()
    story_id = insert_story(session, story, signature.fingerprint)
    if story_id is None:
        raise RuntimeError(f"story {story.id} was stored already: use a fresh database")
    c2, w2 = time.process_time(), time.perf_counter()
    NearDuplicateIndex(session).assign(
        story_id, signature, language=story.language, published_at=story.published
    )
    c3, w3 = time.process_time(), time.perf_counter()
    event_signature = story.event_signature()
    c4, w4 = time.process_time(), time.perf_counter()
    stored = session.get(Story, story_id)
    if stored is None:
        raise RuntimeError(f"story {story_id} vanished inside its own transaction")
    events.place(session, stored, event_signature)
    c5, w5 = time.process_time(), time.perf_counter()
    if timings is not None:
        timings.add("insert", c2 - c1, w2 - w1)
        timings.add("neardup", (c1 - c0) + (c3 - c2), (w1 - w0) + (w3 - w2))
        timings.add("event_signature", c4 - c3, w4 - w3)
        timings.add("placement", c5 - c4, w5 - w4)


# --- pool -----------------------------------------------------------------------


def build_pool(path: Path, size: int, seed: int, batch: int) -> float:
    """Place the stream's first ``size`` stories for real into a new SQLite file;
    returns the seconds it took."""
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    started = time.perf_counter()
    stream = iter(StoryStream(seed))
    done = 0
    step = max(batch, size // 20)
    while done < size:
        done += place_stories(url, stream, min(step, size - done), batch, None)
        print(
            f"  pool: {done:,}/{size:,} placed, {time.perf_counter() - started:,.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return time.perf_counter() - started


def pool_stories(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])


# --- archive --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Layout:
    """How cycle ``c`` of the pool is placed: ids offset by ``c`` strides, times by
    ``c × shift``; the last cycle keeps the pool's band hashes."""

    cycles: int
    story_stride: int
    event_stride: int
    cluster_stride: int
    shift: timedelta

    def band_mix(self, cycle: int) -> int:
        """XOR mask of a cycle's band hashes: 0 for the last cycle."""
        return (_BAND_MIX * (self.cycles - 1 - cycle)) & _MASK63


def layout_for(pool: Path, n: int) -> Layout:
    """ceil(n / pool size) cycles, strided by the pool's largest ids."""
    with closing(sqlite3.connect(pool)) as conn:

        def largest(table: str) -> int:
            return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])

        stories = int(conn.execute("SELECT count(*) FROM stories").fetchone()[0])
        strides = largest("stories"), largest("events"), largest("clusters")
    if stories == 0:
        raise ValueError(f"pool {pool} holds no stories: build it first")
    return Layout(
        cycles=math.ceil(n / stories),
        story_stride=strides[0],
        event_stride=strides[1],
        cluster_stride=strides[2],
        shift=STEP * stories,
    )


def _shifter(delta: timedelta) -> Callable[[str | None], str | None]:
    """Shift a time as SQLite stores it (SQLAlchemy's format), keeping None."""

    def shift(value: str | None) -> str | None:
        if value is None:
            return None
        return (datetime.fromisoformat(value) + delta).strftime(SQLITE_TIME)

    return shift


def _add(offset: int) -> Callable[[int | None], int | None]:
    return lambda value: None if value is None else value + offset


@dataclasses.dataclass(frozen=True)
class TableCopy:
    """How one table's rows are copied into a cycle, twice over: ``transforms`` (Python,
    for ``COPY`` into PostgreSQL) and ``sql`` (expressions over the pool's row, for an
    ``INSERT … SELECT`` from the attached pool on SQLite, which runs in C), per column;
    ``skip`` columns are left to the database. On SQLite, ``sort`` orders the cycle's rows
    as the table's busiest index does (one pass over its B-tree per cycle rather than a
    million random inserts)."""

    table: str
    transforms: dict[str, Callable[[Any], Any]]
    sql: dict[str, str]
    skip: tuple[str, ...] = ()
    order: str = "rowid"
    sort: str = ""


def cycle_tables(layout: Layout, cycle: int) -> list[TableCopy]:
    """The tables of one cycle, parents first, with its offsets and time shift."""
    story = _add(layout.story_stride * cycle)
    event = _add(layout.event_stride * cycle)
    cluster = _add(layout.cluster_stride * cycle)
    delta = layout.shift * cycle
    when = _shifter(delta)
    mix = layout.band_mix(cycle)
    tag = f"{cycle + 1:08x}"
    seconds = int(delta.total_seconds())

    def signature(data: str) -> str:
        decoded = json.loads(data)
        if decoded.get("p"):
            decoded["p"] = (datetime.fromisoformat(decoded["p"]) + delta).isoformat()
        return json.dumps(decoded)

    def plus(stride: int) -> Callable[[str], str]:
        return lambda column: f"{column} + {stride * cycle}"

    def later(column: str) -> str:
        # SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff": shift the seconds, keep the fraction.
        return (
            f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+{seconds} seconds') || substr({column}, 20)"
        )

    # The signature's own time, as isoformat() wrote it, replaced in the text as it is.
    p = "json_extract(data, '$.p')"
    moved = f"strftime('%Y-%m-%dT%H:%M:%S', {p}, '+{seconds} seconds') || '+00:00'"
    signature_sql = (
        f"CASE WHEN {p} IS NULL THEN data"
        f" ELSE replace(data, '\"p\": \"' || {p} || '\"', '\"p\": \"' || {moved} || '\"') END"
    )
    story_sql, event_sql, cluster_sql = (
        plus(layout.story_stride),
        plus(layout.event_stride),
        plus(layout.cluster_stride),
    )
    return [
        TableCopy(
            "clusters",
            {"id": cluster, "first_story_id": story, "first_seen_at": when},
            {
                "id": cluster_sql("id"),
                "first_story_id": story_sql("first_story_id"),
                "first_seen_at": later("first_seen_at"),
            },
            order="id",
        ),
        TableCopy(
            "events",
            {
                "id": event,
                "first_story_id": story,
                "lead_story_id": story,
                "first_at": when,
                "follows_event_id": event,
            },
            {
                "id": event_sql("id"),
                "first_story_id": story_sql("first_story_id"),
                "lead_story_id": story_sql("lead_story_id"),
                "first_at": later("first_at"),
                "follows_event_id": event_sql("follows_event_id"),
            },
            order="id",
        ),
        TableCopy(
            "stories",
            {
                "id": story,
                "url_key": lambda key: tag + key[8:],
                "canonical_url": lambda url: f"{url}?cycle={cycle}",
                "url": lambda url: f"{url}?cycle={cycle}",
                "published_at": when,
                "fetched_at": when,
                "updated_at": when,
                "matched_at": when,
                "cluster_id": cluster,
                "event_id": event,
            },
            {
                "id": story_sql("id"),
                "url_key": f"'{tag}' || substr(url_key, 9)",
                "canonical_url": f"canonical_url || '?cycle={cycle}'",
                "url": f"url || '?cycle={cycle}'",
                "published_at": later("published_at"),
                "fetched_at": later("fetched_at"),
                "updated_at": later("updated_at"),
                "matched_at": later("matched_at"),
                "cluster_id": cluster_sql("cluster_id"),
                "event_id": event_sql("event_id"),
            },
            order="id",
            sort="id",
        ),
        TableCopy(
            "event_signatures",
            {"story_id": story, "data": signature},
            {"story_id": story_sql("story_id"), "data": signature_sql},
            sort="story_id",
        ),
        # Ids left to the database: every cycle appends.
        TableCopy(
            "event_keys",
            {"story_id": story, "at": when},
            {"story_id": story_sql("story_id"), "at": later("at")},
            skip=("id",),
            order="id",
            sort="key, at, story_id",
        ),
        TableCopy(
            "lsh_bands",
            {"story_id": story, "hash": (lambda h: h ^ mix) if mix else (lambda h: h)},
            # XOR in SQLite's arithmetic (no ^ operator); the difference never overflows.
            {"story_id": story_sql("story_id"), "hash": f"(hash | {mix}) - (hash & {mix})"},
            order="story_id, band",
            sort="band, hash, story_id",
        ),
    ]


def copy_sql(copy: TableCopy, columns: list[str]) -> str:
    """``INSERT … SELECT`` of one table of one cycle from the attached ``pool``."""
    chosen = [c for c in columns if c not in copy.skip]
    values = ", ".join(f"{copy.sql.get(c, c)} AS {c}" for c in chosen)
    order = f" ORDER BY {copy.sort}" if copy.sort else ""
    return (
        f"INSERT INTO {copy.table} ({', '.join(chosen)})"
        f" SELECT {values} FROM pool.{copy.table}{order}"
    )


def cycle_rows(
    pool: sqlite3.Connection, copy: TableCopy
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The column names and the transformed rows of one table of one cycle."""
    columns = [
        row[1]
        for row in pool.execute(f"PRAGMA table_info({copy.table})")
        if row[1] not in copy.skip
    ]
    plan = [(i, copy.transforms[c]) for i, c in enumerate(columns) if c in copy.transforms]
    source = pool.execute(f"SELECT {', '.join(columns)} FROM {copy.table} ORDER BY {copy.order}")

    def rows() -> Iterator[tuple[Any, ...]]:
        for row in source:
            values = list(row)
            for i, transform in plan:
                values[i] = transform(values[i])
            yield tuple(values)

    return columns, rows()


def term_rows(pool: sqlite3.Connection, cycles: int) -> list[tuple[str, int]]:
    """The pool's document frequencies, as if every copy had been counted."""
    return [(key, df * cycles) for key, df in pool.execute("SELECT key, df FROM term_frequencies")]


def _progress(cycle: int, layout: Layout, started: float) -> None:
    print(
        f"  archive: cycle {cycle + 1}/{layout.cycles}, {time.perf_counter() - started:,.0f} s",
        file=sys.stderr,
        flush=True,
    )


def build_archive(pool: Path, path: Path, n: int) -> tuple[Layout, float]:
    """A new SQLite archive of ``ceil(n / pool) × pool`` stories copied from ``pool``
    (see the module docstring); returns its layout and the seconds the copy took."""
    path.unlink(missing_ok=True)
    upgrade(f"sqlite:///{path}")
    layout = layout_for(pool, n)
    started = time.perf_counter()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        # A bench archive, rebuilt on any failure: no journal, no fsync, a large cache.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-2097152")
        conn.execute("ATTACH DATABASE ? AS pool", (str(pool),))
        columns = {
            copy.table: [row[1] for row in conn.execute(f"PRAGMA pool.table_info({copy.table})")]
            for copy in cycle_tables(layout, 0)
        }
        for cycle in range(layout.cycles):
            conn.execute("BEGIN")
            for copy in cycle_tables(layout, cycle):
                conn.execute(copy_sql(copy, columns[copy.table]))
            conn.execute("COMMIT")
            _progress(cycle, layout, started)
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO term_frequencies (key, df) SELECT key, df * ? FROM pool.term_frequencies",
            (layout.cycles,),
        )
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE pool")
        conn.execute("PRAGMA journal_mode=WAL")
    return layout, time.perf_counter() - started


def build_archive_postgres(pool: Path, url: str, n: int) -> tuple[Layout, float]:
    """The same archive in an empty, migrated PostgreSQL database (``COPY``), then
    sequences moved past the copied ids and ``ANALYZE`` (what autovacuum does after a
    load this size)."""
    layout = layout_for(pool, n)
    started = time.perf_counter()
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        if not isinstance(conn, psycopg.Connection):
            raise TypeError(f"{url} is not a psycopg connection: use postgresql+psycopg://")
        conn.autocommit = True  # each cycle's transaction() is then a real one
        conn.execute("SET TIME ZONE 'UTC'")  # the pool's times are UTC, stored naive
        with closing(sqlite3.connect(pool)) as source:
            for cycle in range(layout.cycles):
                with conn.transaction():
                    for copy in cycle_tables(layout, cycle):
                        columns, rows = cycle_rows(source, copy)
                        boolean = {i for i, c in enumerate(columns) if c in _PG_BOOLEANS}
                        statement = f"COPY {copy.table} ({', '.join(columns)}) FROM STDIN"
                        with conn.cursor().copy(statement) as pipe:
                            for row in rows:
                                if boolean:
                                    row = tuple(
                                        bool(v) if i in boolean and v is not None else v
                                        for i, v in enumerate(row)
                                    )
                                pipe.write_row(row)
                _progress(cycle, layout, started)
            with conn.transaction():
                with conn.cursor().copy("COPY term_frequencies (key, df) FROM STDIN") as pipe:
                    for row in term_rows(source, layout.cycles):
                        pipe.write_row(row)
                for table in ("stories", "events", "clusters", "event_keys"):
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
        conn.execute("ANALYZE")
    finally:
        raw.close()
        engine.dispose()
    return layout, time.perf_counter() - started


# SQLite keeps booleans as 0 and 1.
_PG_BOOLEANS = frozenset({"event_pinned", "published_estimated"})


# --- measurement ----------------------------------------------------------------


def fresh_stories(seed: int, pool: int, layout: Layout) -> Iterator[Generated]:
    """The stream's stories after the pool, shifted to follow the archive's last cycle."""
    delta = layout.shift * (layout.cycles - 1)
    for story in islice(StoryStream(seed), pool, None):
        yield dataclasses.replace(story, published=story.published + delta)


def measure(
    url: str, seed: int, pool: int, layout: Layout, fresh: int, warmup: int, batch: int
) -> dict[str, Any]:
    """Place ``warmup`` then ``fresh`` new stories on the archive; figures as plain data."""
    stories = fresh_stories(seed, pool, layout)
    place_stories(url, stories, warmup, batch, None)
    timings = Timings()
    placed = place_stories(url, stories, fresh, batch, timings)

    def ms(values: list[float]) -> float:
        return round(statistics.fmean(values) * 1000, 3) if values else 0.0

    def quantile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 3)

    steps = {
        step: {
            "cpu_median_ms": quantile(cpu, 0.5),
            "cpu_mean_ms": ms(cpu),
            "wall_median_ms": quantile(timings.wall[step], 0.5),
            "wall_p95_ms": quantile(timings.wall[step], 0.95),
        }
        for step, cpu in timings.cpu.items()
    }
    return {
        "placed": placed,
        "server_cpu_ms_per_story": round(timings.server_seconds / max(1, placed) * 1000, 3),
        "steps": steps,
        "rss_peak_mb": peak_rss_mb(),
        "db_size_mb": round(database_bytes(url) / 2**20, 1),
    }


def database_bytes(url: str) -> int:
    """The database's size: the SQLite file and its WAL, or ``pg_database_size``."""
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(str(make_url(url).database))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()
    return int(size)


def _child(args: tuple[Any, ...], queue: Any) -> None:
    queue.put(measure(*args))


def measure_in_process(*args: Any) -> dict[str, Any]:
    """``measure`` in a spawned process, so its memory peak is the measurement's own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(args, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"the measuring process failed (exit code {process.exitcode})")
    return result


def report(kind: str, n: int, stored: int, result: dict[str, Any], build_s: float) -> str:
    steps = result["steps"]
    near = steps["neardup"]["cpu_mean_ms"]
    added = steps["event_signature"]["cpu_mean_ms"] + steps["placement"]["cpu_mean_ms"]
    lines = [f"== {kind}, {stored:,} stories (asked {n:,}), archive built in {build_s:,.0f} s =="]
    for step in ("neardup", "event_signature", "placement", "insert", "commit"):
        s = steps[step]
        lines.append(
            f"  {step:16} CPU median {s['cpu_median_ms']:8.3f} ms, mean {s['cpu_mean_ms']:8.3f} ms;"
            f" wall median {s['wall_median_ms']:8.3f} ms, p95 {s['wall_p95_ms']:8.3f} ms"
        )
    lines.append(
        f"  event layer added (signature + placement, CPU mean): {added:.3f} ms,"
        f" {added / near:.2f}x the near-duplicate layer's {near:.3f} ms"
    )
    if kind == "postgresql":
        lines.append(
            "  server process CPU (all steps, mean per story):"
            f" {result['server_cpu_ms_per_story']:.3f} ms"
        )
    lines.append(f"  RSS peak {result['rss_peak_mb']} MB, database {result['db_size_mb']} MB")
    return "\n".join(lines)


@contextmanager
def archive(
    kind: str, pool: Path, n: int, workdir: Path, postgres: str | None
) -> Iterator[tuple[str, Layout, float]]:
    """A fresh archive of ``n`` stories (URL, layout, build seconds), deleted afterwards."""
    if kind == "postgresql":
        if postgres is None:
            raise ValueError("a PostgreSQL run needs --postgres URL")
        with scratch_postgres(postgres, "ww_events_archive") as url:
            upgrade(url)
            layout, seconds = build_archive_postgres(pool, url, n)
            yield url, layout, seconds
        return
    path = workdir / f"archive-{n}.db"
    try:
        layout, seconds = build_archive(pool, path, n)
        yield f"sqlite:///{path}", layout, seconds
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Event layer cost at archive size.")
    parser.add_argument("--n", type=int, nargs="+", default=[25_000, 100_000, 1_000_000])
    parser.add_argument("--pool", type=int, default=25_000, help="stories placed for real")
    parser.add_argument("--fresh", type=int, default=1000, help="stories measured per size")
    parser.add_argument("--warmup", type=int, default=100, help="untimed stories first")
    parser.add_argument("--batch", type=int, default=50, help="stories per transaction")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="where SQLite files go")
    parser.add_argument("--pool-db", type=Path, default=None, help="keep/reuse the pool here")
    parser.add_argument("--postgres", help="PostgreSQL server URL (also run there)")
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: only there")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args(argv)
    if args.no_sqlite and not args.postgres:
        parser.error("--no-sqlite needs --postgres")
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="events-archive-"))
    workdir.mkdir(parents=True, exist_ok=True)
    pool = args.pool_db or workdir / "pool.db"
    if pool.exists() and pool_stories(pool) == args.pool:
        print(f"pool: reusing {pool} ({args.pool:,} stories)", flush=True)
        pool_s = 0.0
    else:
        pool_s = build_pool(pool, args.pool, args.seed, args.batch)
        print(f"pool: {args.pool:,} stories placed for real in {pool_s:,.0f} s", flush=True)
    results: dict[str, Any] = {"pool": args.pool, "pool_seconds": round(pool_s, 1), "runs": []}
    for kind in kinds:
        for n in args.n:
            with archive(kind, pool, n, workdir, args.postgres) as (url, layout, build_s):
                result = measure_in_process(
                    url, args.seed, args.pool, layout, args.fresh, args.warmup, args.batch
                )
            stored = layout.cycles * args.pool
            result.update(
                kind=kind, n=n, stored=stored, cycles=layout.cycles, build_seconds=round(build_s, 1)
            )
            results["runs"].append(result)
            print(report(kind, n, stored, result, build_s), flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.pool_db is None:
        pool.unlink(missing_ok=True)
    os.sync()


if __name__ == "__main__":
    main()
