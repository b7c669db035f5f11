"""Insert-and-query throughput and memory of the near-duplicate index at scale.

Two runs over the same synthetic stream (``synthetic.py``: ru/en/tg news with
30 % reprints), each in its own process and its own fresh database:

* ``baseline`` — what exact dedup alone costs: content fingerprint plus
  ``INSERT … ON CONFLICT (url_key) DO NOTHING`` of the story row;
* ``neardup`` — the same, plus ``signature_for`` (CPU, outside the
  transaction in production) and ``NearDuplicateIndex.assign`` (band lookup,
  verification, band insert, cluster update);
* ``events`` (with ``--events``) — the same again, plus the event layer:
  ``signature_of`` (CPU, outside the transaction in production) and
  ``EventIndex.place`` (key lookup in the window, candidate signatures,
  signature, keys and term counts written). Its added cost is the difference
  from ``neardup``.

Reported per run: stories/s, milliseconds per story by step (overall and over
the last tenth, i.e. at full size), CPU milliseconds per story (the process's,
which on SQLite includes the database's work; steadier than the wall clock on
a shared machine), resident memory peak, database size; then
a read-only lookup test (``find_copies`` for 2,000 fresh stories at full
size) with p50/p95. The added cost of near-duplicate detection is the
difference between the two runs.

Usage::

    python -m bench.dedup.scale [--n 100000] [--postgres URL [--no-sqlite]] [--batch 50]
                                [--workdir DIR] [--only baseline|neardup|events] [--events]

``--postgres`` is a server URL whose user may create databases (one is made
and dropped per run). SQLite files go to ``--workdir`` (a temp dir by default).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.databases import scratch_postgres
from bench.dedup.synthetic import Generated, StoryStream
from bench.memory import peak_rss_mb
from crawler.dedup import NearDuplicateIndex, content_fingerprint, signature_for
from crawler.events.index import EventIndex
from db.migrate import upgrade
from db.models import Story
from db.session import make_engine, make_sessionmaker

LOOKUPS = 2000
_stories = cast(Table, Story.__table__)


def insert_story(session: Session, story: Generated, fingerprint: str) -> int | None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(_stories)
        .values(
            url_key=f"{story.id:064x}",
            canonical_url=story.url,
            url=story.url,
            title=story.title,
            body=story.body,
            language=story.language,
            published_at=story.published,
            fetched_at=story.published,
            fingerprint=fingerprint,
        )
        .on_conflict_do_nothing(index_elements=["url_key"])
        .returning(_stories.c.id)
    )
    inserted: int | None = session.execute(statement).scalar_one_or_none()
    return inserted


def run_phase(url: str, mode: str, n: int, batch: int, seed: int) -> dict[str, Any]:
    """One run in a fresh process; returns figures as plain data."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    stream = iter(StoryStream(seed))
    steps: defaultdict[str, float] = defaultdict(float)
    tail: defaultdict[str, float] = defaultdict(float)
    window: defaultdict[str, float] = defaultdict(float)
    window_start = 0
    # At least one batch: with fewer stories than ten batches the tenth would hold none.
    tail_from = n - max(n // 10, batch)
    reasons: Counter[str] = Counter()
    candidates = 0
    # CPU time of this process (the database's too on SQLite): on a shared machine
    # it moves less than the wall clock. Steps named cpu_* are CPU times.
    cpu_started = time.process_time()
    started = time.perf_counter()
    done = 0
    while done < n:
        chunk = list(islice(stream, min(batch, n - done)))
        timings: defaultdict[str, float] = defaultdict(float)
        with factory() as session, session.begin():
            index = NearDuplicateIndex(session)
            events = EventIndex()
            for story in chunk:
                t0 = time.perf_counter()
                if mode in ("neardup", "events"):
                    signature = signature_for(story.title, story.body)
                    fingerprint = signature.fingerprint
                else:
                    fingerprint = content_fingerprint(story.title, story.body)
                t1 = time.perf_counter()
                story_id = insert_story(session, story, fingerprint)
                t2 = time.perf_counter()
                timings["hash"] += t1 - t0
                timings["insert"] += t2 - t1
                if mode in ("neardup", "events") and story_id is not None:
                    assignment = index.assign_detailed(
                        story_id, signature, language=story.language, published_at=story.published
                    )
                    t3 = time.perf_counter()
                    timings["assign"] += t3 - t2
                    reasons[assignment.reason] += 1
                    candidates += assignment.match is not None
                    if mode == "events":
                        c3 = time.process_time()
                        event_signature = story.event_signature()
                        t4 = time.perf_counter()
                        c4 = time.process_time()
                        stored = session.get(Story, story_id)
                        assert stored is not None
                        events.place(session, stored, event_signature)
                        timings["event_signature"] += t4 - t3
                        timings["event_place"] += time.perf_counter() - t4
                        timings["cpu_event_signature"] += c4 - c3
                        timings["cpu_event_place"] += time.process_time() - c4
            t3 = time.perf_counter()
        timings["commit"] += time.perf_counter() - t3
        for step, seconds in timings.items():
            steps[step] += seconds
            if done >= tail_from:
                tail[step] += seconds
        done += len(chunk)
        for step, seconds in timings.items():
            window[step] += seconds
        if done % max(1, n // 10) < batch:
            rate = done / (time.perf_counter() - started)
            per_story = {k: round(v / (done - window_start) * 1000, 3) for k, v in window.items()}
            c_lookup = time.process_time()
            lookup = lookup_latency(factory, seed, 200) if mode != "baseline" else {}
            cpu_started += time.process_time() - c_lookup  # not the stream's work
            print(
                f"  [{mode}] {done:,}/{n:,} stories, {rate:,.0f}/s overall;"
                f" ms/story in this tenth: {per_story}; lookup now: {lookup}",
                file=sys.stderr,
                flush=True,
            )
            window.clear()
            window_start = done
    elapsed = time.perf_counter() - started
    cpu_total = time.process_time() - cpu_started
    result: dict[str, Any] = {
        "mode": mode,
        "n": n,
        "seconds": round(elapsed, 1),
        "stories_per_s": round(n / elapsed, 1),
        "ms_per_story": {k: round(v / n * 1000, 3) for k, v in sorted(steps.items())},
        "ms_per_story_last_tenth": {
            k: round(v / max(1, n - tail_from) * 1000, 3) for k, v in sorted(tail.items())
        },
        "cpu_ms_per_story": round(cpu_total / n * 1000, 3),
        "reasons": dict(reasons),
        "rss_peak_mb": peak_rss_mb(),
        "db_size_mb": database_size_mb(engine, url),
    }
    if mode != "baseline":
        result["lookup"] = lookup_latency(factory, seed)
    engine.dispose()
    return result


def lookup_latency(factory: Any, seed: int, count: int = LOOKUPS) -> dict[str, float]:
    """find_copies for fresh stories (a different seed) against the index as it is, no writes."""
    stream = iter(StoryStream(seed + 1))
    times = []
    found = 0
    with factory() as session, session.begin():
        index = NearDuplicateIndex(session)
        for story in islice(stream, count):
            signature = signature_for(story.title, story.body)
            t0 = time.perf_counter()
            found += bool(index.find_copies(signature))
            times.append((time.perf_counter() - t0) * 1000)
        session.rollback()
    times.sort()
    return {
        "queries": count,
        "with_match": found,
        "p50_ms": round(times[len(times) // 2], 3),
        "p95_ms": round(times[int(len(times) * 0.95)], 3),
        "mean_ms": round(statistics.fmean(times), 3),
    }


def database_size_mb(engine: Any, url: str) -> float:
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(str(make_url(url).database))
        files = [path, path.with_name(path.name + "-wal")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return round(float(size) / 2**20, 1)


@contextmanager
def fresh_database(kind: str, workdir: Path, postgres: str | None, mode: str) -> Iterator[str]:
    if kind == "sqlite":
        path = workdir / f"{mode}-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return
    assert postgres is not None
    with scratch_postgres(postgres, "ww_bench") as url:
        upgrade(url)
        yield url


def _child(url: str, mode: str, n: int, batch: int, seed: int, queue: Any) -> None:
    queue.put(run_phase(url, mode, n, batch, seed))


def in_process(url: str, mode: str, n: int, batch: int, seed: int) -> dict[str, Any]:
    """A spawned process per run, so memory figures are the run's own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(url, mode, n, batch, seed, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def report(kind: str, baseline: dict[str, Any], neardup: dict[str, Any]) -> str:
    n = neardup["n"]
    base_ms = 1000 / baseline["stories_per_s"]
    near_ms = 1000 / neardup["stories_per_s"]
    lookup = neardup["lookup"]
    base_ms_hash = baseline["ms_per_story"]["hash"]
    near = neardup["ms_per_story"]
    lines = [
        f"== {kind}, {n:,} stories ==",
        (
            f"baseline (fingerprint + unique insert): {baseline['stories_per_s']:,.0f} stories/s"
            f" ({base_ms:.3f} ms/story), RSS peak {baseline['rss_peak_mb']} MB,"
            f" DB {baseline['db_size_mb']} MB"
        ),
        (
            f"near-dup (+ signature + assign):        {neardup['stories_per_s']:,.0f} stories/s"
            f" ({near_ms:.3f} ms/story), RSS peak {neardup['rss_peak_mb']} MB,"
            f" DB {neardup['db_size_mb']} MB"
        ),
        (
            f"added per story: {near_ms - base_ms:.3f} ms in total; of it signature"
            f" {near['hash'] - base_ms_hash:.3f} ms (CPU), assign {near['assign']:.3f} ms overall"
            f" / {neardup['ms_per_story_last_tenth']['assign']:.3f} ms in the last tenth"
        ),
        f"ratio near-dup / baseline time: {near_ms / base_ms:.2f}x",
        (
            f"lookup only at {n:,}: p50 {lookup['p50_ms']} ms, p95 {lookup['p95_ms']} ms,"
            f" mean {lookup['mean_ms']} ms ({lookup['with_match']} of {lookup['queries']} matched)"
        ),
        f"assignments: {neardup['reasons']}",
    ]
    return "\n".join(lines)


def report_events(kind: str, neardup: dict[str, Any], events: dict[str, Any]) -> str:
    n = events["n"]
    near_ms = 1000 / neardup["stories_per_s"]
    events_ms = 1000 / events["stories_per_s"]
    steps = events["ms_per_story"]
    tail = events["ms_per_story_last_tenth"]
    return "\n".join(
        [
            (
                f"events (+ event signature + placement): {events['stories_per_s']:,.0f} stories/s"
                f" ({events_ms:.3f} ms/story), RSS peak {events['rss_peak_mb']} MB,"
                f" DB {events['db_size_mb']} MB"
            ),
            (
                f"event layer added per story at {n:,}: {events_ms - near_ms:.3f} ms in total;"
                f" signature {steps['event_signature']:.3f} ms (CPU), placement"
                f" {steps['event_place']:.3f} ms overall / {tail['event_place']:.3f} ms"
                " in the last tenth"
            ),
            (
                f"CPU per story: {events['cpu_ms_per_story']:.3f} ms with events,"
                f" {neardup['cpu_ms_per_story']:.3f} ms without (added"
                f" {events['cpu_ms_per_story'] - neardup['cpu_ms_per_story']:.3f} ms; signature"
                f" {steps['cpu_event_signature']:.3f} ms, placement"
                f" {steps['cpu_event_place']:.3f} ms overall / {tail['cpu_event_place']:.3f} ms"
                " in the last tenth)"
            ),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Near-duplicate index throughput at scale.")
    parser.add_argument("--n", type=int, default=100_000, help="stories per run")
    parser.add_argument("--postgres", help="PostgreSQL server URL (also run there)")
    parser.add_argument("--batch", type=int, default=50, help="stories per transaction")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="where SQLite files go")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--only",
        choices=("baseline", "neardup", "events"),
        help="one run only (no comparison printed)",
    )
    parser.add_argument(
        "--events", action="store_true", help="also run with the event layer and compare"
    )
    parser.add_argument(
        "--no-sqlite", action="store_true", help="with --postgres: run on PostgreSQL only"
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dedup-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.no_sqlite and not args.postgres:
        parser.error("--no-sqlite needs --postgres")
    kinds = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        runs = {}
        modes = ("baseline", "neardup", "events") if args.events else ("baseline", "neardup")
        for mode in (args.only,) if args.only else modes:
            with fresh_database(kind, workdir, args.postgres, mode) as url:
                runs[mode] = in_process(url, mode, args.n, args.batch, args.seed)
        results[kind] = runs
        if args.only:
            print(json.dumps(runs, indent=2), flush=True)
        else:
            print(report(kind, runs["baseline"], runs["neardup"]), flush=True)
            if "events" in runs:
                print(report_events(kind, runs["neardup"], runs["events"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    os.sync()


if __name__ == "__main__":
    main()
