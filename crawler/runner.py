"""Start crawls out of process.

Twisted's reactor cannot be restarted, so a crawl never runs inside the web
or scheduler process: each one is ``python -m scrapy crawl feeds`` in a child
process. The caller gets a crawl-run id at once and reads progress from the
database, which the pipelines update as they store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ConfigError
from core.settings import Settings
from db import queries, sources
from db.models import CrawlRun
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

from crawler.exitcodes import MEANINGS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CrawlHandle:
    run_id: int
    processes: list[subprocess.Popen[bytes]]
    log_path: Path
    redis_url: str | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The first worker (the only one unless the crawl is distributed)."""
        return self.processes[0]

    def running(self) -> bool:
        return any(p.poll() is None for p in self.processes)

    def wait(self, timeout: float | None = None) -> list[int]:
        return [p.wait(timeout=timeout) for p in self.processes]


def start_crawl(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    source_names: list[str] | None = None,
    crawl_all: bool = False,
    trigger: str = "manual",
    workers: int = 1,
) -> CrawlHandle:
    """Record a crawl run and start its crawler process (or ``workers`` of them).

    Several workers share one request queue and duplicate filter in Redis
    (scrapy-redis), keyed by the run, so each feed and article is fetched once
    by whichever worker is free.
    """
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    if workers > 1 and not settings.redis_url:
        raise ConfigError(
            "several crawler workers share their queue through Redis: set WIREWATCH_REDIS_URL"
        )
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
    return CrawlHandle(run_id, processes, log_path, settings.redis_url)


def redis_key(run_id: int, what: str) -> str:
    return f"wirewatch:crawl:{run_id}:{what}"


def settle(factory: sessionmaker[Session], handle: CrawlHandle) -> CrawlRun:
    """Wait for every worker, then record the run's outcome (a crashed worker fails it)."""
    codes = handle.wait()
    _forget_queue(handle)
    with unit_of_work(factory) as session:
        run = queries.get_crawl_run(session=session, run_id=handle.run_id)
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
