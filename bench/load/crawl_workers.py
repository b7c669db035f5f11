"""Crawl throughput with 1, 2 and 4 long-running crawler workers into PostgreSQL.

The workers are the production ones (`wirewatch crawl-worker`, what the
compose file's ``crawler`` service runs and ``--scale crawler=N`` multiplies):
started first and left idle, then one crawl of every source is queued in
Redis the way the scheduler queues it, and the clock runs from queuing to the
run settled. The site (bench/load/site.py) serves ``--feeds`` feeds of
``--items`` items on 127.0.0.1, each item with its article page, so a run
fetches feeds + feeds x items pages and stores feeds x items stories.

Each worker count gets a fresh database. Checked after each run: every item
stored exactly once (by URL), every page fetched once, and lock errors (dead
locks, lock timeouts, serialization failures, "database is locked") in the
worker logs and the run's errors, which must be 0. Throughput is given as a
ratio to one worker measured in the same invocation.

Politeness is off for the benchmark (``download_delay`` 0, 16 requests at a
time per host): every feed is on one host here, and the figure wanted is how
fast workers parse and store, not how long a polite crawler waits.

    .venv/bin/python -m bench.load.crawl_workers --feeds 50 --items 100 --workers 1 2 4
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import func, select

from bench.archive.run import _fresh
from bench.load.site import LoadSite
from core.settings import Settings
from crawler.runner import settle, start_crawl
from crawler.worker import JOBS_KEY, QUEUE_KEY
from db import queries
from db.migrate import upgrade
from db.models import CrawlStatus, Story
from db.session import make_engine, make_sessionmaker, unit_of_work

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/wirewatch_bench_load"
# A Redis database of its own: the workers' queue keys are fixed names.
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
LOCK_ERRORS = re.compile(
    r"deadlock detected|lock timeout|could not obtain lock|LockNotAvailable|"
    r"could not serialize|SerializationFailure|database is locked",
    re.IGNORECASE,
)
READY = "waiting for crawls queued in Redis"


@dataclass
class Outcome:
    workers: int
    seconds: float
    stories: int
    expected: int
    duplicates: int
    refetched: int
    lock_errors: int
    status: str

    @property
    def per_second(self) -> float:
        return self.stories / self.seconds if self.seconds else 0.0


def _start_workers(settings: Settings, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT)}
    workers = []
    for n in range(count):
        with (logs / f"worker-{count}-{n}.log").open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli", "crawl-worker"],
                    env=env,
                    cwd=logs,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready = sum(READY in (logs / f"worker-{count}-{n}.log").read_text() for n in range(count))
        if ready == count:
            return workers
        time.sleep(0.5)
    _stop(workers)
    raise RuntimeError(f"workers not ready after 120 s; see {logs}")


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=30)


def run_once(count: int, site: LoadSite, postgres: str, redis_url: str, logs: Path) -> Outcome:
    _fresh(postgres)
    upgrade(postgres)
    client = redis.Redis.from_url(redis_url)
    client.delete(JOBS_KEY, QUEUE_KEY)
    settings = Settings(
        data_dir=logs,
        database_url=postgres,
        redis_url=redis_url,
        crawl_workers=True,
        allow_private_hosts=["127.0.0.1"],
        download_delay=0,
        concurrent_requests=16,
        concurrent_requests_per_domain=16,
    )
    engine = make_engine(postgres)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        for n in range(site.feeds):
            queries.upsert_source(session=session, name=f"outlet-{n:02d}", url=site.feed_url(n))
    site.hits.clear()
    workers = _start_workers(settings, count, logs)
    try:
        started = time.perf_counter()
        handle = start_crawl(settings, factory, crawl_all=True, trigger="bench")
        handle.wait(timeout=3600)
        run = settle(factory, handle)
        seconds = time.perf_counter() - started
    finally:
        _stop(workers)
        client.delete(JOBS_KEY, QUEUE_KEY)
        client.close()
    with factory() as session:
        stored = session.scalar(select(func.count()).select_from(Story)) or 0
        urls = session.scalar(select(func.count(func.distinct(Story.url)))) or 0
    engine.dispose()
    text = "\n".join(
        (logs / f"worker-{count}-{n}.log").read_text(errors="replace") for n in range(count)
    )
    errors = " ".join(str(error) for error in run.errors)
    pages = Counter({p: n for p, n in site.hits.items() if p != "/robots.txt"})
    return Outcome(
        workers=count,
        seconds=seconds,
        stories=stored,
        expected=site.feeds * site.items,
        duplicates=stored - urls,
        refetched=sum(n - 1 for n in pages.values() if n > 1),
        lock_errors=len(LOCK_ERRORS.findall(text)) + len(LOCK_ERRORS.findall(errors)),
        status=str(run.status.value if isinstance(run.status, CrawlStatus) else run.status),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="database to (re)create")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="a Redis database for the queue")
    parser.add_argument("--logs", type=Path, help="keep the workers' logs here")
    args = parser.parse_args(argv)
    print(f"building the site: {args.feeds} feeds x {args.items} items", flush=True)
    outcomes: list[Outcome] = []
    with LoadSite(args.feeds, args.items) as site, tempfile.TemporaryDirectory() as tmp:
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        for count in args.workers:
            outcome = run_once(count, site, args.postgres, args.redis, logs)
            outcomes.append(outcome)
            print(
                f"{count} worker(s): {outcome.seconds:.1f} s, {outcome.per_second:.1f} stories/s, "
                f"run {outcome.status}",
                flush=True,
            )
    base = outcomes[0].per_second
    print(
        "\n| workers | seconds | stories/s | ratio | stored / expected | stored twice "
        "| pages fetched twice | lock errors | run |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for o in outcomes:
        ratio = o.per_second / base if base else 0.0
        print(
            f"| {o.workers} | {o.seconds:.1f} | {o.per_second:.1f} | {ratio:.2f} | "
            f"{o.stories} / {o.expected} | {o.duplicates} | {o.refetched} | {o.lock_errors} "
            f"| {o.status} |"
        )
    bad = [o for o in outcomes if o.stories != o.expected or o.duplicates or o.lock_errors]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
