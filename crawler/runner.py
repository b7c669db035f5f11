"""Start crawls out of process.

Twisted's reactor cannot be restarted, so a crawl never runs inside the web
or scheduler process: each one is ``python -m scrapy crawl feeds`` in a child
process. The caller gets a crawl-run id at once and reads progress from the
database, which the pipelines update as they store.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings
from db import queries, sources
from db.models import CrawlRun
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

from crawler.exitcodes import MEANINGS
from crawler.worker import STALL_SECONDS, QueuedRun, worker_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUEUE_POLL_SECONDS = 0.5
log = logging.getLogger(__name__)


class Heartbeat:
    """Refreshes a run's ``heartbeat_at`` from the owning process while ``alive()`` holds.

    Readers on another host cannot look the owner's pid up; a heartbeat that stops
    tells them the owner is gone (``db.queries.crawl_run_alive``).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        run_id: int,
        alive: Callable[[], bool],
        interval: float = queries.CRAWL_HEARTBEAT_SECONDS,
    ) -> None:
        self._factory = factory
        self._run_id = run_id
        self._alive = alive
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"beat-{run_id}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                running = self._alive()
            except Exception:  # noqa: BLE001 - no way to tell: stop beating, readers judge by time
                return
            if not running:
                return
            try:
                with unit_of_work(self._factory) as session:
                    if not queries.beat_crawl_run(
                        session=session, run_id=self._run_id, when=datetime.now(UTC)
                    ):
                        return
            except Exception:  # a database hiccup: beat again next time
                log.warning("crawl #%s: heartbeat not recorded", self._run_id, exc_info=True)


@dataclass
class CrawlHandle:
    run_id: int
    processes: list[subprocess.Popen[bytes]]
    log_path: Path
    redis_url: str | None = None
    heartbeat: Heartbeat | None = field(default=None, repr=False)
    # A crawl handed to the long-running crawler workers (no process of its own).
    queued: QueuedRun | None = field(default=None, repr=False)
    # The run as settled, once (whoever settles first: the exit watcher or a caller).
    settled: CrawlRun | None = field(default=None, repr=False)
    _settling: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The first worker (the only one unless the crawl is distributed)."""
        return self.processes[0]

    def running(self) -> bool:
        if self.queued is not None:
            return self.queued.running()
        return any(p.poll() is None for p in self.processes)

    def wait(self, timeout: float | None = None) -> list[int]:
        if self.queued is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.queued.running():
                if deadline is not None and time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(f"crawl #{self.run_id}", timeout or 0)
                time.sleep(QUEUE_POLL_SECONDS)
            return []
        return [p.wait(timeout=timeout) for p in self.processes]


def start_crawl(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    source_names: list[str] | None = None,
    crawl_all: bool = False,
    trigger: str = "manual",
    workers: int = 1,
    on_settled: Callable[[CrawlRun], None] | None = None,
) -> CrawlHandle:
    """Record a crawl run and start its crawler process (or ``workers`` of them).

    Several workers share one request queue and duplicate filter in Redis
    (scrapy-redis), keyed by the run, so each feed and article is fetched once
    by whichever worker is free.

    A run with processes of its own is settled the moment the last one exits (a
    watcher thread), not when the caller next looks (a run queued for crawler
    workers is settled by its caller, which follows its work in Redis): instant digests wait while a crawl counts as
    running. ``on_settled`` is then called with the settled run (the scheduler
    wakes its digest job with it).
    """
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    if settings.crawl_workers and workers > 1:
        raise ConfigError(
            "with crawl_workers on, crawls go to the running `wirewatch crawl-worker` "
            "processes; start more of those instead of --workers"
        )
    if workers > 1 and not settings.redis_url:
        raise ConfigError(
            "several crawler workers share their queue through Redis: set WIREWATCH_REDIS_URL"
        )
    with unit_of_work(factory) as session:
        # A run whose owner was killed must not look like a crawl still going.
        queries.reap_dead_crawl_runs(session=session)
    with unit_of_work(factory) as session:
        chosen = sources.sources_for_crawl(
            session=session, now=datetime.now(UTC), names=source_names, crawl_all=crawl_all
        )
        run = queries.create_crawl_run(
            session=session,
            source_id=chosen[0].id if len(chosen) == 1 and source_names else None,
            trigger=trigger,
            sources_total=len(chosen),
        )
        run_id = run.id
        source_ids = ",".join(str(source.id) for source in chosen)
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"crawl-{run_id}.log"
    if settings.crawl_workers:
        assert settings.redis_url is not None  # the settings refuse crawl_workers without it
        queued = QueuedRun(settings.redis_url, run_id)
        queued.enqueue(int(i) for i in source_ids.split(",") if i)
        handle = CrawlHandle(run_id, [], log_path, settings.redis_url, queued=queued)
        handle.heartbeat = Heartbeat(factory, run_id, handle.running).start()
        # Settled by its caller, which follows the run's outstanding work in Redis.
        return handle
    # The sources are chosen here, once: every worker crawls exactly these.
    args = [sys.executable, "-m", "scrapy", "crawl", "feeds", "-a", f"run_id={run_id}"]
    args += ["-a", f"source_ids={source_ids}"]
    if settings.redis_url:
        args += ["-s", f"SCHEDULER_QUEUE_KEY={redis_key(run_id, 'requests')}"]
        args += ["-s", f"SCHEDULER_DUPEFILTER_KEY={redis_key(run_id, 'dupefilter')}"]
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    env["WIREWATCH_DATA_DIR"] = str(settings.data_dir.resolve())
    env["WIREWATCH_DATABASE_URL"] = _absolute_sqlite(settings.database_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    processes = []
    with log_path.open("ab") as log:
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT)
                )
            )
    handle = CrawlHandle(run_id, processes, log_path, settings.redis_url)
    handle.heartbeat = Heartbeat(factory, run_id, handle.running).start()
    _settle_on_exit(factory, handle, on_settled)
    return handle


def _settle_on_exit(
    factory: sessionmaker[Session],
    handle: CrawlHandle,
    on_settled: Callable[[CrawlRun], None] | None,
) -> threading.Thread:
    """Settle the run as soon as its workers exit, then tell ``on_settled``."""

    def watch() -> None:
        try:
            run = settle(factory, handle)
        except Exception:  # the caller's own settle (or the reaper) records it later
            log.exception("crawl #%s: could not record its end", handle.run_id)
            return
        if on_settled is not None:
            try:
                on_settled(run)
            except Exception:
                log.exception("crawl #%s: its end was recorded, the follow-up failed", run.id)

    thread = threading.Thread(target=watch, name=f"settle-{handle.run_id}", daemon=True)
    thread.start()
    return thread


def redis_key(run_id: int, what: str) -> str:
    return f"wirewatch:crawl:{run_id}:{what}"


def settle(factory: sessionmaker[Session], handle: CrawlHandle) -> CrawlRun:
    """Wait for every worker, then record the run's outcome (a crashed worker fails it).

    Recorded once: a second caller (the exit watcher and the CLI both settle)
    gets the run as the first one settled it.
    """
    codes = handle.wait()
    with handle._settling:
        if handle.settled is None:
            handle.settled = _record_outcome(factory, handle, codes)
        return handle.settled


def _record_outcome(
    factory: sessionmaker[Session], handle: CrawlHandle, codes: list[int]
) -> CrawlRun:
    if handle.heartbeat is not None:
        handle.heartbeat.stop()
    _forget_queue(handle)
    with unit_of_work(factory) as session:
        run = queries.get_crawl_run(session=session, run_id=handle.run_id)
        if handle.queued is not None and handle.queued.stalled:
            queries.add_crawl_error(
                session=session,
                run_id=run.id,
                error={
                    "source": "",
                    "url": "",
                    "error": "crawl ended: no crawler worker made progress "
                    f"for {STALL_SECONDS:.0f} s (are `wirewatch crawl-worker`s running?)",
                },
            )
        crashed = [code for code in codes if code != 0]
        for code in crashed:
            meaning = f": {MEANINGS[code]}" if code in MEANINGS else ""
            queries.add_crawl_error(
                session=session,
                run_id=run.id,
                error={
                    "source": "",
                    "url": "",
                    "error": f"crawler process exited with code {code}{meaning}; "
                    f"log: {handle.log_path}",
                },
            )
        queries.finish_crawl_run(
            session=session,
            run_id=run.id,
            status=queries.crawl_outcome(run, crashed=bool(crashed)),
            when=datetime.now(UTC),
        )
        session.flush()
        session.expunge(run)
    return run


def _forget_queue(handle: CrawlHandle) -> None:
    if handle.queued is not None:
        handle.queued.forget()
        return
    if not handle.redis_url:
        return
    import redis

    client = redis.Redis.from_url(handle.redis_url)
    try:
        client.delete(redis_key(handle.run_id, "requests"), redis_key(handle.run_id, "dupefilter"))
    finally:
        client.close()


def _absolute_sqlite(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(Path(url[len(prefix) :]).resolve())
    return url


def worker_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The command and environment of a long-running crawler worker (`wirewatch crawl-worker`)."""
    if not settings.redis_url:
        raise ConfigError("a crawler worker takes its work from Redis: set WIREWATCH_REDIS_URL")
    args = [sys.executable, "-m", "scrapy", "crawl", "feeds-worker"]
    for name, value in worker_settings().items():
        args += ["-s", f"{name}={value}"]
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    env["WIREWATCH_DATA_DIR"] = str(settings.data_dir.resolve())
    env["WIREWATCH_DATABASE_URL"] = _absolute_sqlite(settings.database_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return args, env
