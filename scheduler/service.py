"""The scheduler process: APScheduler 3 with its job store in wirewatch's database.

Jobs are declared here, in code, at every start, with fixed ids and
``replace_existing=True``, so a renamed job can never linger in the store.

The digest job also runs the moment there is news for it: a crawl started here
wakes it as soon as its process exits, and the ``watch-digests`` job (every
``instant_poll_seconds``, one cheap read) wakes it for crawls that ran in
other processes, stories waiting to be matched, and instant messages that were
held for a crawl. So an instant subscriber waits for the crawl (at most
``instant_batch_minutes``), not for the scheduler's tick. Likewise the crawl
job makes itself due when the next source falls due, and again the moment its
crawl ends, so a source is crawled at its time, not at the tick after it.
``coalesce`` plus a long ``misfire_grace_time`` mean a scheduler that was down
for hours runs each job once on restart instead of skipping it; what a job
covers is computed from the database, not from the time it was due.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from core.settings import Settings
from db.session import make_engine
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from scheduler import jobs
from scheduler.lease import release

log = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
JOBS = (
    ("heartbeat", "scheduler.jobs:heartbeat"),
    ("crawl-due-sources", "scheduler.jobs:crawl_due_sources"),
    ("send-digests", "scheduler.jobs:send_digests"),
    ("watch-digests", "scheduler.jobs:watch_digests"),
)
DIGEST_JOB = "send-digests"
CRAWL_JOB = "crawl-due-sources"
# Jobs that tick faster than the scheduler tick (seconds from the settings).
FAST_JOBS = {"watch-digests": "instant_poll_seconds"}


def build_scheduler(
    settings: Settings, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    jobs.configure(settings)
    store = SQLAlchemyJobStore(engine=make_engine(settings.database_url), tablename=JOBSTORE_TABLE)
    _create_jobstore_table(store)
    _forget_retired_jobs(store)
    scheduler = scheduler_class(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.misfire_grace_seconds,
        },
        timezone="UTC",
    )
    for job_id, func in JOBS:
        seconds = settings.scheduler_tick_seconds
        if job_id in FAST_JOBS:
            seconds = min(seconds, getattr(settings, FAST_JOBS[job_id]))
        scheduler.add_job(
            func,
            trigger="interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            replace_existing=True,
            # First run at start-up, not one interval later.
            next_run_time=datetime.now(UTC),
        )
    jobs.set_waker(lambda: _run_now(scheduler, DIGEST_JOB))
    jobs.set_crawl_alarm(lambda when: _run_at(scheduler, CRAWL_JOB, when))
    return scheduler


def _run_now(scheduler: BaseScheduler, job_id: str) -> None:
    """Make a job due now: a crawl just stored news, or the watcher found some.

    A job that is running at that moment skips this wake-up (one instance at a
    time); the watcher finds the news still there and wakes it again.
    """
    scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))


def _run_at(scheduler: BaseScheduler, job_id: str, when: datetime) -> None:
    """Make a job due at ``when`` (the interval then counts on from there)."""
    scheduler.modify_job(job_id, next_run_time=when)


def _forget_retired_jobs(store: SQLAlchemyJobStore) -> None:
    """Jobs an older version stored but this one no longer has (their function may be
    gone, which APScheduler would report as an error at every start)."""
    current = [job_id for job_id, _ in JOBS]
    with store.engine.begin() as conn:
        conn.execute(store.jobs_t.delete().where(store.jobs_t.c.id.not_in(current)))


def _create_jobstore_table(store: SQLAlchemyJobStore) -> None:
    """Create APScheduler's table before start, tolerating a concurrent creator.

    Two schedulers starting together both see the table missing and both
    create it; PostgreSQL refuses the second CREATE (a duplicate type), which
    would kill that scheduler before it could stay passive behind the lease.
    """
    try:
        store.jobs_t.create(store.engine, checkfirst=True)
    except DBAPIError:
        if not inspect(store.engine).has_table(JOBSTORE_TABLE):
            raise
        log.info("job store table %s was created by another scheduler", JOBSTORE_TABLE)


def quiet_routine_ticks(level: str) -> None:
    """APScheduler's "Running job" / "executed successfully" pair, twice a tick, at DEBUG.

    At INFO they were four lines a minute saying nothing; what a tick did
    (a crawl started or finished, digests sent) is still logged at INFO, and
    errors and missed runs stay WARNING or above. WIREWATCH_LOG_LEVEL=DEBUG
    shows them again.
    """
    if logging.getLevelName(level.upper()) != logging.DEBUG:
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)


def run_scheduler(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    quiet_routine_ticks(settings.log_level)
    scheduler = build_scheduler(settings)

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping the scheduler (signal %d)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("scheduler started; ticking every %ds", settings.scheduler_tick_seconds)
    try:
        scheduler.start()
    finally:
        release(jobs._factory(), jobs.HOLDER)
