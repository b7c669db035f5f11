"""Sources as a crawl sees them: which to crawl, and what a crawl leaves on them.

Defining, listing and recording fetches of sources are in ``db.queries``.
Functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from core.failures import kind_of
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from db import queries
from db.models import Source, SourceKind, Story


def sources_for_crawl(
    *,
    session: Session,
    now: datetime,
    names: Sequence[str] | None = None,
    crawl_all: bool = False,
) -> list[Source]:
    """The named sources (NotFoundError for an unknown name), else every enabled one with
    ``crawl_all``, else the enabled ones that are due at ``now``."""
    if names:
        return [queries.get_source(session=session, name=name) for name in names]
    if crawl_all:
        return queries.list_sources(session=session, enabled_only=True)
    return queries.due_sources(session=session, now=now)


def sources_by_id(*, session: Session, ids: Sequence[int]) -> list[Source]:
    """These sources in the order given; an id no longer stored is left out."""
    if not ids:
        return []
    found = {s.id: s for s in session.scalars(select(Source).where(Source.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


# A failing source is polled less and less often, up to this; a paused one once a day.
MAX_BACKOFF = timedelta(hours=24)
REPROBE_EVERY = timedelta(hours=24)


def next_poll_at(source: Source) -> datetime | None:
    """When the source is due; None when never crawled nor scheduled (due now).

    Once a day when paused. While failing, its interval after the last crawl,
    doubled for every failure in a row (at most a day), and never before what
    its server asked for. Otherwise the time its last fetch set (adaptive
    polling, ``crawler.polling``), or its fixed interval after the last crawl.
    """
    if source.last_crawled_at is None:
        asked_first: datetime | None = source.next_poll_at
        return asked_first  # None: never polled, due now
    if source.paused_at is not None:
        return source.last_crawled_at + REPROBE_EVERY
    wait = timedelta(minutes=source.interval_minutes)
    if source.error_count > 0:
        wait = min(wait * (1 << min(source.error_count, 16)), max(MAX_BACKOFF, wait))
        backed_off = source.last_crawled_at + wait
        asked: datetime | None = source.next_poll_at
        return backed_off if asked is None else max(backed_off, asked)
    adaptive: datetime | None = source.next_poll_at
    if adaptive is not None:
        return adaptive
    return source.last_crawled_at + wait


def is_due(source: Source, now: datetime) -> bool:
    due = next_poll_at(source)
    return due is None or due <= now


def record_fetch_health(
    *,
    session: Session,
    source_id: int,
    when: datetime,
    error: str | None,
    not_modified: bool,
    pause_after: timedelta,
) -> None:
    """Count the poll (and a 304), and track the failing incident after one fetch.

    A failure starts an incident (``failing_since``) unless one is running; a
    source failing for longer than ``pause_after`` is paused (polled once a day
    from then on, and shown as paused). A success ends the incident, unpauses
    the source and clears ``alerted_at`` so the next incident is reported again.
    """
    source = session.get(Source, source_id)
    if source is None:
        return
    source.fetch_count = (source.fetch_count or 0) + 1
    if not_modified:
        source.not_modified_count = (source.not_modified_count or 0) + 1
    if error is None:
        if source.failing_since is not None:
            source.alerted_at = None  # the failing incident is over
        source.failure_kind = None
        source.failing_since = None
        source.paused_at = None
        return
    kind = kind_of(error)
    source.failure_kind = kind.value if kind else None
    if source.failing_since is None:
        source.failing_since = when
        source.alerted_at = None  # a new incident: report it, even after a silence
    if source.paused_at is None and when - source.failing_since >= pause_after:
        source.paused_at = when


def record_new_story(*, session: Session, source_id: int, when: datetime) -> None:
    """The source just gave a story not stored before."""
    session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(last_new_story_at=when, alerted_at=None)  # a silence, if any, is over
    )


def mark_alerted(*, session: Session, source_ids: Sequence[int], when: datetime) -> None:
    """The operator was told about these sources' current incidents."""
    if source_ids:
        session.execute(update(Source).where(Source.id.in_(source_ids)).values(alerted_at=when))


def set_validators(
    *, session: Session, source_id: int, etag: str | None, last_modified: str | None
) -> None:
    """Remember a feed's conditional-GET validators (once its items are stored)."""
    session.execute(
        update(Source)
        .where(Source.id == source_id)
        .values(etag=etag, last_modified=last_modified)
        .execution_options(synchronize_session=False)
    )


def note_malformed_feed(*, session: Session, source_id: int, problem: str) -> None:
    """The feed was read, entries kept, but it is malformed: say so on the source."""
    source = session.get(Source, source_id)
    if source is not None:
        source.last_error = f"malformed feed (entries kept): {problem}"[:2000]


def found_delays(
    *, session: Session, since: datetime | None = None
) -> list[tuple[str | None, str | None, int | None]]:
    """(source name, kind that found it, seconds from published to found) per story
    found ``since`` (by its fetch time)."""
    stmt = select(Source.name, Story.found_kind, Story.found_delay_seconds).outerjoin(
        Source, Source.id == Story.source_id
    )
    if since is not None:
        stmt = stmt.where(Story.fetched_at >= since)
    return [(name, kind, delay) for name, kind, delay in session.execute(stmt)]


def new_stories_since(
    *, session: Session, source_id: int, since: datetime
) -> tuple[int, datetime | None]:
    """How many stories of the source were published (or, undated, first seen) since
    ``since``, and the oldest such time."""
    when = func.coalesce(Story.published_at, Story.fetched_at)
    stmt = select(func.count(), func.min(when)).where(Story.source_id == source_id, when >= since)
    row = session.execute(stmt).one()
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite hands back min() of a timestamp as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(row[0] or 0), oldest


def schedule_next_poll(
    *, session: Session, source_id: int, when: datetime, interval_minutes: float
) -> None:
    """The source is next due ``interval_minutes`` after ``when``."""
    source = session.get(Source, source_id)
    if source is not None:
        source.poll_minutes = max(1, round(interval_minutes))
        source.next_poll_at = when + timedelta(minutes=interval_minutes)


def set_link_rules(*, session: Session, name: str, rules: dict[str, Any] | None) -> Source:
    """A section source's own CSS/XPath rules for article links (None: the heuristics)."""
    source = queries.get_source(session=session, name=name)
    source.link_rules = rules or None
    return source


def outlet_source(*, session: Session, host: str, scheme: str = "https") -> Source:
    """The source a story found through a search feed is filed under: its outlet.

    A stored source whose feed or homepage is on ``host`` (``www.`` aside) is the
    outlet; otherwise a disabled section source for the outlet's homepage is
    created, named after the host, so its stories are that outlet's and an
    operator can enable it to follow the outlet directly.
    """
    bare = host.lower().removeprefix("www.")
    patterns = [f"%://{bare}/%", f"%://{bare}", f"%://www.{bare}/%", f"%://www.{bare}"]
    stmt = (
        select(Source)
        .where(
            Source.kind != SourceKind.SEARCH,
            or_(
                *[Source.url.like(p) for p in patterns],
                *[Source.homepage.like(p) for p in patterns],
            ),
        )
        .order_by(Source.enabled.desc(), Source.id)
        .limit(1)
    )
    found = session.scalar(stmt)
    if found is not None:
        return found
    homepage = f"{scheme}://{host}/"
    label = bare[:100]
    existing = session.scalar(select(Source).where(Source.name == label))
    if existing is not None:
        return existing
    source = Source(
        name=label,
        kind=SourceKind.SECTION,
        url=homepage,
        homepage=homepage,
        enabled=False,
    )
    session.add(source)
    session.flush()
    return source
