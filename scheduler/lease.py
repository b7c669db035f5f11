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
    """Take or renew the lease; False while another live holder has it."""
    try:
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
    except IntegrityError:
        return False  # another instance created the row first


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
