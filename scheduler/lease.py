"""One active scheduler per database.

APScheduler 3 cannot share a job store between processes (jobs would run
twice), so a lease row in the database names the one scheduler allowed to
run jobs. Another instance stays passive, says so in its log, and takes over
only when the holder stops renewing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from db.models import SchedulerLease
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

LEASE_NAME = "scheduler"


def try_acquire(
    factory: sessionmaker[Session], holder: str, *, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew the lease; False while another live holder has it.

    Two first claims racing to create the row (two schedulers, or two jobs of
    one scheduler at start-up) are told apart by reading the row again: the
    loser of the insert may be the very holder that won it.
    """
    for _attempt in range(2):
        try:
            return _take(factory, holder, now=now, ttl=ttl)
        except IntegrityError:
            continue  # the row was created meanwhile: read whose it is
    return False


def _take(factory: sessionmaker[Session], holder: str, *, now: datetime, ttl: timedelta) -> bool:
    with factory() as session, session.begin():
        lease = session.scalar(
            select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME).with_for_update()
        )
        if lease is None:
            session.add(SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=now + ttl))
            return True
        if lease.holder != holder and lease.expires_at > now:
            return False
        lease.holder = holder
        lease.expires_at = now + ttl
        return True


def release(factory: sessionmaker[Session], holder: str) -> None:
    with factory() as session, session.begin():
        session.execute(
            delete(SchedulerLease).where(
                SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder
            )
        )


def current_holder(factory: sessionmaker[Session]) -> tuple[str, datetime] | None:
    with factory() as session:
        lease = session.get(SchedulerLease, LEASE_NAME)
        return (lease.holder, lease.expires_at) if lease else None
