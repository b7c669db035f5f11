"""When a subscription's next digest is due, in the subscriber's own time zone.

Each digest belongs to a period named in local time ("D2026-11-28",
"W2026-48", "H2026-11-28T14"; an instant batch is named by its first story,
see ``alerts.digest``); the database allows one digest per
subscription and period, so a DST fall-back hour that fires a trigger twice,
or two schedulers started by mistake, still send one email.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ConfigError
from core.translatable import Translatable
from db.models import Frequency, Subscription


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a name longer than a file name may be ("File name too long").
        raise ConfigError(
            Translatable.gettext(
                "unknown time zone %(name)r (use an IANA name like Asia/Dushanbe)", name=name
            )
        ) from exc


def period_start(
    frequency: Frequency, now: datetime, tz: ZoneInfo, hour: int, weekday: int
) -> datetime:
    """The start of the latest period that has begun by ``now`` (aware, in UTC terms)."""
    local = now.astimezone(tz)
    if frequency in (Frequency.INSTANT, Frequency.HOURLY):
        return local.replace(minute=0, second=0, microsecond=0)
    today = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency == Frequency.DAILY:
        return today if local >= today else today - timedelta(days=1)
    days_back = (local.weekday() - weekday) % 7
    start = today - timedelta(days=days_back)
    return start if local >= start else start - timedelta(days=7)


def period_key(frequency: Frequency, start: datetime, now: datetime, tz: ZoneInfo) -> str:
    local = start.astimezone(tz)
    if frequency == Frequency.INSTANT:
        return "I" + now.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")
    if frequency == Frequency.HOURLY:
        return "H" + local.strftime("%Y-%m-%dT%H")
    if frequency == Frequency.DAILY:
        return "D" + local.strftime("%Y-%m-%d")
    year, week, _ = local.isocalendar()
    return f"W{year}-{week:02d}"


def due_period(subscription: Subscription, timezone: str, now: datetime) -> str | None:
    """The period key to send now, or None when this subscription is not due."""
    tz = zone(timezone)
    freq = subscription.frequency
    start = period_start(freq, now, tz, subscription.send_hour, subscription.send_weekday)
    last = subscription.last_digest_at
    if freq != Frequency.INSTANT and last is not None and last >= start:
        return None
    return period_key(freq, start, now, tz)


def first_window(frequency: Frequency) -> timedelta:
    """How far back a new subscription's first digest reaches."""
    return timedelta(days=7) if frequency == Frequency.WEEKLY else timedelta(days=1)
