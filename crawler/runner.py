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

from sqlalchemy.orm import Session, sessionmaker

from db import queries
from db.models import CrawlRun, CrawlStatus
from db.session import unit_of_work
from wirewatch.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CrawlHandle:
    run_id: int
    process: subprocess.Popen[bytes]
    log_path: Path


def start_crawl(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    source_names: list[str] | None = None,
    crawl_all: bool = False,
    trigger: str = "manual",
) -> CrawlHandle:
    """Record a crawl run and start the crawler process for it."""
    with unit_of_work(factory) as session:
        if source_names:
            sources = [queries.get_source(session=session, name=n) for n in source_names]
        elif crawl_all:
            sources = queries.list_sources(session=session, enabled_only=True)
        else:
            sources = queries.due_sources(session=session, now=datetime.now(UTC))
        run = queries.create_crawl_run(
            session=session,
            source_id=sources[0].id if len(sources) == 1 and source_names else None,
            trigger=trigger,
            sources_total=len(sources),
        )
        run_id = run.id
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"crawl-{run_id}.log"
    args = [sys.executable, "-m", "scrapy", "crawl", "feeds", "-a", f"run_id={run_id}"]
    if source_names:
        args += ["-a", f"source={','.join(source_names)}"]
    elif crawl_all:
        args += ["-a", "all=1"]
    env = {**os.environ, **settings.to_env(), "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    env["WIREWATCH_DATA_DIR"] = str(settings.data_dir.resolve())
    env["WIREWATCH_DATABASE_URL"] = _absolute_sqlite(settings.database_url)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(PROJECT_ROOT)
        )
    return CrawlHandle(run_id=run_id, process=process, log_path=log_path)


def settle(factory: sessionmaker[Session], handle: CrawlHandle) -> CrawlRun:
    """After the process has exited: a run it left 'running' (it crashed) becomes failed."""
    code = handle.process.wait()
    with unit_of_work(factory) as session:
        run = queries.get_crawl_run(session=session, run_id=handle.run_id)
        if run.status == CrawlStatus.RUNNING:
            queries.add_crawl_error(
                session=session,
                run_id=run.id,
                error={"source": "", "url": "", "error": f"crawler process exited with code {code}; log: {handle.log_path}"},
            )
            queries.finish_crawl_run(
                session=session, run_id=run.id, status=CrawlStatus.FAILED, when=datetime.now(UTC)
            )
        session.flush()
        session.expunge(run)
    return run


def _absolute_sqlite(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        return prefix + str(Path(url[len(prefix):]).resolve())
    return url
