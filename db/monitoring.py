"""What ``/metrics`` and ``/healthz`` read: totals of crawls, stories, digests and sources,
how overdue the scheduler's next job is, and whether the database answers at all.

Crawlers, the scheduler and digests run in other processes and record what
they did in the database, so these totals are the same from every process.
Functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from db.models import CrawlRun, CrawlStatus, DeliveryStatus, Digest, Source, Story

SCHEDULER_JOBS = "apscheduler_jobs"  # APScheduler's job store, in the same database


@dataclass(frozen=True)
class CrawlTotals:
    """Sums over every crawl run."""

    feed_fetches: int
    not_modified: int
    fetched: int
    new: int
    duplicates: int
    updated: int
    failed: int


def crawl_totals(*, session: Session) -> CrawlTotals:
    row = session.execute(
        select(
            func.coalesce(func.sum(CrawlRun.sources_done), 0),
            func.coalesce(func.sum(CrawlRun.not_modified), 0),
            func.coalesce(func.sum(CrawlRun.fetched), 0),
            func.coalesce(func.sum(CrawlRun.new), 0),
            func.coalesce(func.sum(CrawlRun.duplicates), 0),
            func.coalesce(func.sum(CrawlRun.updated), 0),
            func.coalesce(func.sum(CrawlRun.failed), 0),
        )
    ).one()
    return CrawlTotals(*(int(value) for value in row))


def crawl_runs_by_status(*, session: Session) -> list[tuple[CrawlStatus, int]]:
    rows = session.execute(select(CrawlRun.status, func.count()).group_by(CrawlRun.status))
    return [(status, int(count)) for status, count in rows]


def last_crawl_finished(*, session: Session) -> datetime | None:
    return session.scalar(select(func.max(CrawlRun.finished_at)))


def stories_extracted_by(*, session: Session, method: str) -> int:
    """Stories whose text came from this extraction method."""
    count = session.scalar(
        select(func.count()).select_from(Story).where(Story.extraction_method == method)
    )
    return int(count or 0)


def digests_by_status(*, session: Session) -> list[tuple[DeliveryStatus, int]]:
    rows = session.execute(select(Digest.status, func.count()).group_by(Digest.status))
    return [(status, int(count)) for status, count in rows]


@dataclass(frozen=True)
class SourceCounts:
    total: int
    enabled: int
    failing: int  # its last fetch failed


def source_counts(*, session: Session) -> SourceCounts:
    every = select(func.count()).select_from(Source)
    return SourceCounts(
        total=int(session.scalar(every) or 0),
        enabled=int(session.scalar(every.where(Source.enabled)) or 0),
        failing=int(session.scalar(every.where(Source.error_count > 0)) or 0),
    )


def earliest_scheduled_run(*, session: Session) -> float | None:
    """When the scheduler's next job is due (a POSIX time); None: no jobs, or no job store yet."""
    if not inspect(session.connection()).has_table(SCHEDULER_JOBS):
        return None
    earliest = session.execute(text(f"SELECT min(next_run_time) FROM {SCHEDULER_JOBS}")).scalar()
    return None if earliest is None else float(earliest)


def ping(*, session: Session) -> None:
    """Raises whatever the driver raises when the database does not answer."""
    session.execute(text("select 1"))
