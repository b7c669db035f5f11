"""When to poll a source next: its publishing rate, its server's hints, bounds, jitter.

A source that publishes every ten minutes is worth a look every ten minutes;
one that publishes twice a week is not worth 48 requests a day. The interval
is the mean gap between the source's new stories over the last week (by their
published time, so a new source's first crawl already tells its rate), and
never shorter than what the server asked for: RSS ``<ttl>``,
``sy:updatePeriod``/``sy:updateFrequency``, ``Cache-Control: max-age`` and,
after a 429 or 503, ``Retry-After``. The result is held within the configured
bounds (5 minutes to 24 hours by default) and spread by a random jitter so
sources added together do not stay in lock-step. Pure functions: the store
pipeline calls them with what one fetch saw (``db.sources`` counts the rate).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# The publishing rate is read from this much history, and over at least MIN_SPAN.
RATE_WINDOW = timedelta(days=7)
MIN_SPAN = timedelta(hours=1)

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-cache|no-store)(?:$|[,\s])", re.IGNORECASE)
_SY_PERIOD_MINUTES = {
    "hourly": 60.0,
    "daily": 24 * 60.0,
    "weekly": 7 * 24 * 60.0,
    "monthly": 30 * 24 * 60.0,
    "yearly": 365 * 24 * 60.0,
}


@dataclass(frozen=True)
class PollBounds:
    min_minutes: int = 5
    max_minutes: int = 24 * 60
    jitter: float = 0.1


@dataclass(frozen=True)
class PollHints:
    """What one response said about when to come back, in minutes (None: nothing said)."""

    feed_minutes: float | None = None  # RSS ttl / sy:updatePeriod
    max_age_minutes: float | None = None  # Cache-Control max-age
    retry_after_minutes: float | None = None  # Retry-After

    @property
    def floor(self) -> float | None:
        """The shortest interval the server asked for."""
        asked = [m for m in (self.feed_minutes, self.max_age_minutes) if m is not None]
        return max(asked) if asked else None


def feed_refresh_minutes(
    ttl: str | None, update_period: str | None, update_frequency: str | None
) -> float | None:
    """Minutes a feed says it stays unchanged: the longer of ``ttl`` and ``sy:update*``."""
    found: list[float] = []
    if ttl is not None and ttl.strip().isdigit() and int(ttl) > 0:
        found.append(float(int(ttl)))
    if update_period:
        period = _SY_PERIOD_MINUTES.get(update_period.strip().lower())
        if period is not None:
            frequency = 1
            if update_frequency and update_frequency.strip().isdigit():
                frequency = max(1, int(update_frequency))
            found.append(period / frequency)
    return max(found) if found else None


def cache_max_age_minutes(cache_control: str | None) -> float | None:
    """``Cache-Control: max-age`` in minutes; None when absent or no-cache/no-store."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    found = _MAX_AGE.search(cache_control)
    return int(found.group(1)) / 60.0 if found else None


def retry_after_minutes(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` (delta-seconds or an HTTP date) in minutes from ``now``."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text) / 60.0
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds() / 60.0)


def publishing_gap_minutes(
    new_stories: int,
    *,
    window: timedelta = RATE_WINDOW,
    age: timedelta,
    oldest: timedelta | None = None,
) -> float | None:
    """Mean minutes between the source's stories of the last ``window``; None while unknown.

    ``oldest`` is how long ago the oldest of them was published: a feed shows
    only its newest entries, so a busy source's first crawl sees twenty
    stories of the last few hours, not of the week, and its rate is read over
    the span they cover (at least ``MIN_SPAN``). ``age`` is how long the source
    has been watched: one added an hour ago that has shown nothing yet is not
    yet "quiet".
    """
    if new_stories > 0:
        span = window if oldest is None else min(window, max(oldest, MIN_SPAN))
        return span.total_seconds() / 60.0 / new_stories
    if age < timedelta(days=1):
        return None
    return float("inf")


def next_interval_minutes(
    *,
    gap_minutes: float | None,
    default_minutes: float,
    hints: PollHints,
    bounds: PollBounds,
    rng: random.Random | None = None,
) -> float:
    """The interval until the next poll, within ``bounds``, jittered.

    The publishing gap (or the source's configured interval while its rate is
    unknown) is raised to the server's floor; Retry-After, when given, is a
    minimum of its own, also held to the upper bound so a source is never lost.
    """
    interval = default_minutes if gap_minutes is None else gap_minutes
    floor = hints.floor
    if floor is not None:
        interval = max(interval, floor)
    interval = min(max(interval, bounds.min_minutes), bounds.max_minutes)
    if bounds.jitter:
        spread = (rng or random).uniform(-bounds.jitter, bounds.jitter)
        interval = min(max(interval * (1 + spread), bounds.min_minutes), bounds.max_minutes)
    if hints.retry_after_minutes is not None:
        interval = max(interval, min(hints.retry_after_minutes, bounds.max_minutes))
    return interval


def interval_for(
    *,
    adaptive: bool,
    fixed_minutes: float,
    recent_new: int | None,
    age: timedelta,
    oldest: timedelta | None = None,
    hints: PollHints,
    bounds: PollBounds,
    rng: random.Random | None = None,
) -> float:
    """The minutes until a source's next poll, after a fetch that gave ``hints``.

    ``recent_new``: its stories published within ``RATE_WINDOW`` (None: its own
    rate means nothing, as for a search source), the oldest of them ``oldest``
    ago. With ``adaptive`` off the
    source keeps its fixed interval, waiting longer only when told to
    (Retry-After).
    """
    if not adaptive:
        if hints.retry_after_minutes is not None:
            return max(fixed_minutes, hints.retry_after_minutes)
        return fixed_minutes
    gap = None if recent_new is None else publishing_gap_minutes(recent_new, age=age, oldest=oldest)
    return next_interval_minutes(
        gap_minutes=gap, default_minutes=fixed_minutes, hints=hints, bounds=bounds, rng=rng
    )
