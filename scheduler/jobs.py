"""Job bodies. Each asks the database what is due, does it, and records it.

They are referenced by import path from the job store, so they take no
arguments: ``configure`` hands them the settings the scheduler was started
with (the process's own settings otherwise). The lease is checked first so a
passive scheduler does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from alerts.digest import send_due_digests
from alerts.senders import make_sender
from alerts.sourcealerts import alert_operator
from core.settings import Settings, get_settings
from crawler.runner import CrawlHandle, settle, start_crawl
from db import queries
from db.models import CrawlRun
from db.session import make_engine, make_sessionmaker, unit_of_work
from sqlalchemy.orm import Session, sessionmaker

from scheduler.lease import try_acquire

log = logging.getLogger(__name__)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
_running_crawl: CrawlHandle | None = None
_configured: Settings | None = None
# Runs the digest job now (set by the scheduler that runs these jobs).
_waker: Callable[[], None] | None = None
# Makes the crawl job due at a given time (set likewise).
_crawl_alarm: Callable[[datetime], None] | None = None
# A due check this long after a source falls due: its next poll time is rounded
# to the second, and a check a moment early would find nothing due.
CRAWL_CHECK_SLACK = timedelta(seconds=1)
_leased = False


@dataclass
class _DigestPass:
    """The last digest pass of this process: when it started, whether it held messages."""

    started: datetime | None = None
    held: bool = False


_last_pass = _DigestPass()
_pass_lock = threading.Lock()


def configure(settings: Settings | None) -> None:
    """Run the jobs of this process with ``settings`` (None: the process's own settings)."""
    global _configured
    _configured = settings
    _factory.cache_clear()


def set_waker(waker: Callable[[], None] | None) -> None:
    """How ``wake_digests`` makes the digest job run now (None: it cannot)."""
    global _waker
    _waker = waker


def _settings() -> Settings:
    return _configured if _configured is not None else get_settings()


@lru_cache(maxsize=1)
def _factory() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(_settings().database_url))


def holds_lease() -> bool:
    settings = _settings()
    ttl = timedelta(seconds=max(3 * settings.scheduler_tick_seconds, 30))
    global _leased
    ok = try_acquire(_factory(), HOLDER, now=datetime.now(UTC), ttl=ttl)
    _leased = ok
    if not ok:
        log.info("another scheduler holds the lease; staying passive")
    return ok


def set_crawl_alarm(alarm: Callable[[datetime], None] | None) -> None:
    """Let the crawl job make itself due when the next source falls due."""
    global _crawl_alarm
    _crawl_alarm = alarm


def heartbeat() -> None:
    holds_lease()


def crawl_due_sources() -> None:
    """Start a crawl of the due sources unless one is still running."""
    global _running_crawl
    if not holds_lease():
        return
    factory = _factory()
    if _running_crawl is not None:
        if _running_crawl.running():
            return
        run = settle(factory, _running_crawl)
        log.info("crawl #%s finished: %s, %s new", run.id, run.status.value, run.new)
        _running_crawl = None
        _alert_operator(factory)
    _fail_orphaned_runs(factory)
    now = datetime.now(UTC)
    with factory() as session:
        due, next_due = queries.source_schedule(session=session, now=now)
    if due:
        _running_crawl = start_crawl(
            _settings(), factory, trigger="scheduler", on_settled=_crawl_ended
        )
        log.info("crawl #%s started for %d due source(s)", _running_crawl.run_id, len(due))
        return  # its end arms the next check (``_crawl_ended``)
    _arm_at(next_due, now)


def _arm_next_check(factory: sessionmaker[Session]) -> None:
    if _crawl_alarm is None:
        return
    now = datetime.now(UTC)
    with factory() as session:
        due_at = queries.next_source_due_at(session=session, now=now)
    _arm_at(due_at, now)


def _arm_at(due_at: datetime | None, now: datetime) -> None:
    """Check again when the next source falls due, if that is before the next tick.

    A source due every few minutes would otherwise wait up to a whole tick past
    its time for its crawl; the tick stays the longest wait (and catches sources
    changed by other processes). A source still due right after its crawl (one
    whose crawl died before recording anything) waits for the tick, so a crawl
    that keeps failing is not restarted in a loop.
    """
    if _crawl_alarm is None:
        return
    tick = timedelta(seconds=_settings().scheduler_tick_seconds)
    if due_at is None or due_at <= now or due_at - now >= tick:
        return
    try:
        _crawl_alarm(due_at + CRAWL_CHECK_SLACK)
    except Exception:  # a scheduler shutting down: the next tick checks
        log.warning("could not bring the next crawl check forward", exc_info=True)


def _alert_operator(factory: sessionmaker[Session]) -> None:
    """After a crawl: tell the operator about sources newly failing, paused or silent."""
    settings = _settings()
    if not settings.operator_email and not settings.operator_webhook_url:
        return
    report = alert_operator(factory, settings, make_sender(settings))
    if report.reported:
        log.warning("operator told about source(s): %s", ", ".join(report.reported))
    for error in report.errors:
        log.warning("%s", error)


def _crawl_ended(run: CrawlRun) -> None:
    """Called the moment a crawl started here is settled: its news goes out now."""
    log.info("crawl #%s finished: %s, %s new", run.id, run.status.value, run.new)
    wake_digests()
    _arm_next_check(_factory())


def wake_digests() -> None:
    """Run the digest job now rather than at its next tick."""
    if _waker is None:
        return
    try:
        _waker()
    except Exception:  # a scheduler shutting down: the next tick sends
        log.warning("could not wake the digest job", exc_info=True)


def watch_digests() -> None:
    """Wake the digest job when there is news for it, by one cheap read every few seconds.

    News is: a crawl (of any process: the web app's, the CLI's, crawl workers')
    ended after the last digest pass started; a story waits to be matched; or
    the last pass held instant messages for a crawl (the wait may be over).
    """
    if not _leased:
        return  # passive, or the lease not yet taken: the holder sends
    with _pass_lock:
        started, held = _last_pass.started, _last_pass.held
    if held:
        wake_digests()
        return
    with _factory()() as session:
        finished = queries.last_crawl_finished_at(session=session)
        waiting = queries.any_story_needs_match(session=session)
    if waiting or (finished is not None and (started is None or finished >= started)):
        wake_digests()


def _fail_orphaned_runs(factory: sessionmaker[Session]) -> None:
    """Runs left 'running' by a process that no longer exists become failed."""
    with unit_of_work(factory) as session:
        for run_id in queries.reap_dead_crawl_runs(session=session):
            log.warning("crawl #%s: its process is gone; recorded as failed", run_id)


def send_digests() -> None:
    if not holds_lease():
        return
    settings = _settings()
    started = datetime.now(UTC)
    with _pass_lock:
        _last_pass.started = started
    summary = send_due_digests(_factory(), settings, make_sender(settings), now=started)
    with _pass_lock:
        _last_pass.held = summary.held > 0
    if summary.sent or summary.deferred or summary.failed or summary.unknown:
        log.info(
            "digests: %d sent, %d deferred, %d failed",
            summary.sent,
            summary.deferred,
            summary.failed,
        )
    for error in summary.errors:
        log.warning("%s", error)
