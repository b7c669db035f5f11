"""Each source's state in one row: what the sources page, `sources list` and alerts show.

A source is, in this order of precedence:

* ``disabled`` - switched off by an operator;
* ``paused`` - failing for longer than ``WIREWATCH_SOURCE_PAUSE_AFTER_HOURS``,
  re-probed once a day;
* ``failing`` - its last fetch failed (the failure's class is shown: DNS,
  connection, TLS, HTTP 404...); it is polled less often while it fails;
* ``silent`` - it answers, but has given no new story for longer than usual
  *for it*: more than `SILENCE_FACTOR` times its own average gap between
  stories over the last `HISTORY_DAYS` days, and at least a day. A source
  with fewer than `MIN_HISTORY` stories in that window is never called silent;
* ``new`` - never crawled yet;
* ``ok``.

`found_delays` reads the stories' provenance: how long after publication
each kind of source (or each source) found them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.failures import LABELS, FailureKind
from db import archive as archive_reads
from db import queries
from db import sources as source_writes
from db.models import Source
from db.sources import next_poll_at
from sqlalchemy.orm import Session

HEALTH_DAYS = 7
HISTORY_DAYS = 30
SILENCE_FACTOR = 4.0
MIN_HISTORY = 4
MIN_SILENCE = timedelta(days=1)
FAILING_STATES = frozenset({"failing", "paused"})


@dataclass(frozen=True)
class SourceRow:
    source: Source
    status: str
    stories: int
    per_day: float  # stories dated within the last HEALTH_DAYS days, per day
    not_modified_share: float | None  # of all polls, answered 304; None before any poll
    next_poll: datetime | None  # None: due now (never crawled); disabled sources: None
    usual_gap: timedelta | None  # average time between its stories, when known
    problem: str  # the failure, or the silence, in words; "" when none

    @property
    def failing(self) -> bool:
        return self.status in FAILING_STATES

    @property
    def failure_label(self) -> str:
        kind = self.source.failure_kind
        if not kind:
            return ""
        try:
            return LABELS[FailureKind(kind)]
        except ValueError:
            return kind


def source_rows(session: Session, *, now: datetime | None = None) -> list[SourceRow]:
    """Every source with its state, in name order."""
    now = now or datetime.now(UTC)
    totals = archive_reads.stories_per_source(session=session)
    recent = archive_reads.stories_per_source(session=session, since=now - timedelta(HEALTH_DAYS))
    history = archive_reads.stories_per_source(session=session, since=now - timedelta(HISTORY_DAYS))
    rows = []
    for source in queries.list_sources(session=session):
        count = int(history.get(source.id, 0))
        gap = timedelta(days=HISTORY_DAYS) / count if count >= MIN_HISTORY else None
        status, problem = _status(source, gap, now)
        polls = source.fetch_count or 0
        rows.append(
            SourceRow(
                source=source,
                status=status,
                stories=int(totals.get(source.id, 0)),
                per_day=int(recent.get(source.id, 0)) / HEALTH_DAYS,
                not_modified_share=(source.not_modified_count or 0) / polls if polls else None,
                next_poll=next_poll_at(source) if source.enabled else None,
                usual_gap=gap,
                problem=problem,
            )
        )
    return rows


def _status(source: Source, gap: timedelta | None, now: datetime) -> tuple[str, str]:
    if not source.enabled:
        return "disabled", ""
    if source.paused_at is not None:
        since = _ago(now - (source.failing_since or source.paused_at))
        return "paused", f"failing for {since}, re-probed daily: {source.last_error or ''}"
    if source.error_count:
        return "failing", source.last_error or "the last fetch failed"
    if source.last_crawled_at is None:
        return "new", ""
    if gap is not None and source.last_new_story_at is not None:
        quiet = now - source.last_new_story_at
        if quiet > max(gap * SILENCE_FACTOR, MIN_SILENCE):
            return "silent", (
                f"no new story for {_ago(quiet)}; it usually has one every {_ago(gap)}"
            )
    return "ok", ""


def _ago(span: timedelta) -> str:
    """A span in the largest whole unit that fits: ``3 d``, ``5 h``, ``12 min``."""
    seconds = max(0, int(span.total_seconds()))
    if seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{max(1, seconds // 60)} min"


@dataclass(frozen=True)
class DelayRow:
    """How long after publication stories were found, for one source kind (or one source)."""

    label: str
    stories: int
    timed: int  # of which the published time is known
    median: timedelta | None
    p90: timedelta | None


def found_delays(
    session: Session, *, by: str = "kind", since: datetime | None = None
) -> list[DelayRow]:
    """Delay from published time to found, per source kind (``by="kind"``) or per source."""
    groups: dict[str, list[int | None]] = {}
    for name, kind, delay in source_writes.found_delays(session=session, since=since):
        label = (kind or "unknown") if by == "kind" else (name or "(removed source)")
        groups.setdefault(label, []).append(delay)
    rows = []
    for label in sorted(groups):
        timed = sorted(d for d in groups[label] if d is not None)
        rows.append(
            DelayRow(
                label=label,
                stories=len(groups[label]),
                timed=len(timed),
                median=timedelta(seconds=timed[(len(timed) - 1) // 2]) if timed else None,
                p90=timedelta(seconds=timed[min(len(timed) - 1, int(0.9 * len(timed)))])
                if timed
                else None,
            )
        )
    return rows


def span(value: timedelta | None) -> str:
    """``2 d 3 h``, ``4 h 12 min``, ``35 min``, ``40 s``; empty for None."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
