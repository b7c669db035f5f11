"""Reads and writes every caller shares: crawler pipelines, alerts, scheduler, web, CLI.

Functions take a keyword-only ``session`` and never commit: the caller's unit
of work (a pipeline item, a job, a request) owns the transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from core import process
from core.errors import NotFoundError
from core.process import ProcessIdentity
from sqlalchemy import Insert, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    VIA_QUERY,
    CrawlRun,
    CrawlStatus,
    DeliveryStatus,
    Digest,
    Frequency,
    Source,
    SourceKind,
    Story,
    StoryVersion,
    Subscriber,
    Subscription,
    Tombstone,
    Topic,
    TopicMatch,
    utcnow,
)

# --- sources -----------------------------------------------------------------


def get_source(*, session: Session, name: str) -> Source:
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        raise NotFoundError(f"no source named {name!r} (see `wirewatch sources list`)")
    return source


def list_sources(*, session: Session, enabled_only: bool = False) -> list[Source]:
    stmt = select(Source).order_by(Source.name)
    if enabled_only:
        stmt = stmt.where(Source.enabled.is_(True))
    return list(session.scalars(stmt))


def due_sources(*, session: Session, now: datetime) -> list[Source]:
    """Enabled sources that are due (``db.sources.next_poll_at``: the interval, backed off
    while failing, daily while paused)."""
    return source_schedule(session=session, now=now)[0]


def next_source_due_at(*, session: Session, now: datetime) -> datetime | None:
    """When the next enabled source falls due (``now`` for one due already); None for none."""
    return source_schedule(session=session, now=now)[1]


def source_schedule(*, session: Session, now: datetime) -> tuple[list[Source], datetime | None]:
    """The enabled sources due now, and when the next one falls due (``next_source_due_at``),
    from one read of the sources."""
    from db.sources import is_due, next_poll_at

    enabled = list_sources(session=session, enabled_only=True)
    due = [s for s in enabled if is_due(s, now)]
    return due, min((next_poll_at(s) or now for s in enabled), default=None)


def upsert_source(
    *,
    session: Session,
    name: str,
    url: str,
    kind: SourceKind = SourceKind.FEED,
    homepage: str | None = None,
    language: str | None = None,
    interval_minutes: int = 30,
    enabled: bool = True,
) -> tuple[Source, bool]:
    """Create a source or update its definition; returns (source, created)."""
    source = session.scalar(select(Source).where(Source.name == name))
    created = source is None
    if source is None:
        source = Source(name=name, url=url, kind=kind)
        session.add(source)
    source.url = url
    source.kind = kind
    source.homepage = homepage
    source.language = language
    source.interval_minutes = interval_minutes
    source.enabled = enabled
    session.flush()
    return source, created


def record_source_fetch(
    *,
    session: Session,
    source_id: int,
    when: datetime,
    error: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
    new_stories: int = 0,
) -> None:
    """Remember conditional-GET validators and health after one fetch of a source."""
    source = session.get(Source, source_id)
    if source is None:
        return
    source.last_crawled_at = when
    if error is None:
        source.last_success_at = when
        source.last_error = None
        source.error_count = 0
        if etag is not None or last_modified is not None:
            source.etag = etag
            source.last_modified = last_modified
    else:
        source.last_error = error[:2000]
        source.error_count += 1
    if new_stories:
        source.last_new_story_at = when


# --- stories -----------------------------------------------------------------


@dataclass(frozen=True)
class StoryRecord:
    url_key: str
    canonical_url: str
    url: str
    canonicalizer_version: int
    guid: str | None
    source_id: int | None
    title: str
    body: str
    summary: str
    authors: list[str]
    language: str | None
    published_at: datetime | None
    published_estimated: bool
    fetched_at: datetime
    fingerprint: str
    extraction_method: str | None


@dataclass(frozen=True)
class StoreOutcome:
    """What storing one sighting did: a new story, a new version of one, or nothing."""

    story_id: int | None
    status: str  # "new" | "duplicate" | "updated" | "tombstoned"


def insert_story_if_new(*, session: Session, record: StoryRecord) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING; the new id, or None when the URL is already stored.

    The database decides, so concurrent crawlers cannot both insert one story.
    """
    values: dict[str, Any] = {
        "url_key": record.url_key,
        "canonical_url": record.canonical_url,
        "url": record.url,
        "canonicalizer_version": record.canonicalizer_version,
        "guid": record.guid,
        "source_id": record.source_id,
        "title": record.title,
        "body": record.body,
        "summary": record.summary,
        "authors": record.authors,
        "language": record.language,
        "published_at": record.published_at,
        "published_estimated": record.published_estimated,
        "fetched_at": record.fetched_at,
        "fingerprint": record.fingerprint,
        "extraction_method": record.extraction_method,
        "version": 1,
        **_provenance(session, record),
    }
    return session.execute(
        _insert_story_statement(session.get_bind().dialect.name), values
    ).scalar()


@lru_cache(maxsize=4)
def _insert_story_statement(dialect: str) -> Insert:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING id per dialect, values bound per call.

    Built on the table, not the mapped class, and without inline values: the ORM's
    bulk-insert handling and a cache key over every value of the story cost more
    than the insert itself, once per stored story. Column defaults apply the same.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(Table, Story.__table__)
    return insert(table).on_conflict_do_nothing(index_elements=["url_key"]).returning(table.c.id)


def _provenance(session: Session, record: StoryRecord) -> dict[str, Any]:
    """Which kind of source found the story first, and how long after it was published;
    only what is known (an unknown value, or a story no source found, is left NULL)."""
    known: dict[str, Any] = {}
    source = session.get(Source, record.source_id) if record.source_id is not None else None
    if source is None:
        return known
    known["found_kind"] = source.kind.value
    if record.published_at is not None and not record.published_estimated:
        delay = (record.fetched_at - record.published_at).total_seconds()
        known["found_delay_seconds"] = max(0, int(delay))
    return known


def is_tombstoned(*, session: Session, url_key: str) -> bool:
    return session.get(Tombstone, url_key) is not None


def story_by_key(*, session: Session, url_key: str) -> Story | None:
    return session.scalar(select(Story).where(Story.url_key == url_key))


@dataclass(frozen=True)
class KnownStory:
    """What a crawler needs to know of a stored story to decide whether to fetch it again."""

    fetched_at: datetime
    title: str
    tombstoned: bool = False


def known_story_keys(*, session: Session, url_keys: Sequence[str]) -> dict[str, KnownStory]:
    """Which of these keys are stored (or tombstoned), with when and under what title."""
    if not url_keys:
        return {}
    rows = session.execute(
        select(Story.url_key, Story.fetched_at, Story.title).where(Story.url_key.in_(url_keys))
    ).all()
    known = {key: KnownStory(fetched, title) for key, fetched, title in rows}
    for key in session.scalars(select(Tombstone.url_key).where(Tombstone.url_key.in_(url_keys))):
        known.setdefault(key, KnownStory(datetime.max.replace(tzinfo=UTC), "", tombstoned=True))
    return known


def record_new_version(
    *, session: Session, story: Story, record: StoryRecord, when: datetime
) -> None:
    """Keep the old text as a version and put the new one on the story."""
    session.add(
        StoryVersion(
            story_id=story.id,
            version=story.version,
            title=story.title,
            body=story.body,
            fingerprint=story.fingerprint,
            replaced_at=when,
        )
    )
    story.version += 1
    story.title = record.title
    story.body = record.body
    story.summary = record.summary or story.summary
    story.fingerprint = record.fingerprint
    story.updated_at = when
    story.fetched_at = when
    story.matched_at = None


def touch_story(*, session: Session, story: Story, when: datetime) -> None:
    story.fetched_at = when


def delete_story(*, session: Session, story_id: int) -> None:
    """Delete a story and leave a tombstone so no crawl brings it back."""
    story = session.get(Story, story_id)
    if story is None:
        raise NotFoundError(f"no story with id {story_id}")
    session.merge(Tombstone(url_key=story.url_key, canonical_url=story.canonical_url))
    session.delete(story)


def count_stories(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Story)) or 0)


def stories_needing_match(*, session: Session, limit: int = 500) -> list[Story]:
    stmt = select(Story).where(Story.matched_at.is_(None)).order_by(Story.id).limit(limit)
    return list(session.scalars(stmt))


# --- topics --------------------------------------------------------------------


def get_topic(*, session: Session, slug: str) -> Topic:
    topic = session.scalar(select(Topic).where(Topic.slug == slug))
    if topic is None:
        raise NotFoundError(f"no topic with slug {slug!r} (see `wirewatch topics list`)")
    return topic


def list_topics(*, session: Session, enabled_only: bool = False) -> list[Topic]:
    stmt = select(Topic).order_by(Topic.slug)
    if enabled_only:
        stmt = stmt.where(Topic.enabled.is_(True))
    return list(session.scalars(stmt))


def upsert_topic(
    *, session: Session, slug: str, name: str, query: str, definition: str = ""
) -> tuple[Topic, bool]:
    topic = session.scalar(select(Topic).where(Topic.slug == slug))
    created = topic is None
    if topic is None:
        topic = Topic(slug=slug, name=name, query=query, definition=definition)
        session.add(topic)
    else:
        if topic.query != query:
            topic.updated_at = utcnow()
        topic.name = name
        topic.query = query
        topic.definition = definition
    session.flush()
    return topic, created


def record_topic_match(
    *,
    session: Session,
    story_id: int,
    topic_id: int,
    why: list[str],
    when: datetime,
    via: str = VIA_QUERY,
) -> bool:
    """Store that a story matched a topic; False when that was already known.

    ``via`` says what matched it: the topic's query, or its relevance model.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TopicMatch)
        .values(story_id=story_id, topic_id=topic_id, why=why, matched_at=when, via=via)
        .on_conflict_do_nothing(index_elements=["story_id", "topic_id"])
        .returning(TopicMatch.id)
    )
    return session.scalar(stmt) is not None


def record_topic_matches(
    *,
    session: Session,
    story_id: int,
    matches: Sequence[tuple[int, list[str], str]],
    when: datetime,
) -> set[int]:
    """Store that a story matched these topics (topic id, why, via); returns the ids of
    those not already known.

    One statement for all of a story's topics: one per topic made recording the
    matches cost more than finding them.
    """
    if not matches:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TopicMatch)
        .values(
            [
                {
                    "story_id": story_id,
                    "topic_id": topic_id,
                    "why": why,
                    "matched_at": when,
                    "via": via,
                }
                for topic_id, why, via in matches
            ]
        )
        .on_conflict_do_nothing(index_elements=["story_id", "topic_id"])
        .returning(TopicMatch.topic_id)
    )
    return set(session.scalars(stmt))


def topics_for_story(*, session: Session, story_id: int) -> list[tuple[Topic, TopicMatch]]:
    rows = session.execute(
        select(Topic, TopicMatch)
        .join(TopicMatch, TopicMatch.topic_id == Topic.id)
        .where(TopicMatch.story_id == story_id)
    ).all()
    return [(topic, match) for topic, match in rows]


# --- crawl runs ------------------------------------------------------------------


# The owner of a running crawl refreshes its heartbeat this often; a run whose
# heartbeat is older than CRAWL_RUN_STALE, and whose owner cannot be looked up
# from here (another host), is taken for dead.
CRAWL_HEARTBEAT_SECONDS = 15.0
CRAWL_RUN_STALE = timedelta(minutes=2)


def create_crawl_run(
    *,
    session: Session,
    source_id: int | None,
    trigger: str,
    sources_total: int = 0,
    owner: ProcessIdentity | None = None,
) -> CrawlRun:
    """A new ``running`` run, owned by ``owner`` (the calling process by default)."""
    owner = owner or process.current()
    run = CrawlRun(
        source_id=source_id,
        trigger=trigger,
        status=CrawlStatus.RUNNING,
        sources_total=sources_total,
        errors=[],
        host=owner.host,
        pid=owner.pid,
        pid_started=owner.started,
        heartbeat_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def beat_crawl_run(*, session: Session, run_id: int, when: datetime) -> bool:
    """The owner is alive: refresh the heartbeat; False when the run is no longer running."""
    result = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == CrawlStatus.RUNNING)
        .values(heartbeat_at=when)
    )
    return bool(getattr(result, "rowcount", 0))


def crawl_run_alive(run: CrawlRun, *, now: datetime) -> bool:
    """Whether a ``running`` run's owner still runs: looked up on its host when this is
    that host (a reused pid does not count), else judged by the heartbeat."""
    if run.host and run.pid is not None:
        verdict = process.probe(run.host, run.pid, run.pid_started)
        if verdict is not None:
            return verdict
    last = run.heartbeat_at or run.started_at
    return now - last < CRAWL_RUN_STALE


def reap_dead_crawl_runs(*, session: Session, now: datetime | None = None) -> list[int]:
    """Runs left ``running`` by an owner that is gone become ``failed``; their ids."""
    now = now or utcnow()
    reaped = []
    for run in session.scalars(select(CrawlRun).where(CrawlRun.status == CrawlStatus.RUNNING)):
        if crawl_run_alive(run, now=now):
            continue
        # Conditional, so two readers reaping at once record it once.
        result = session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run.id, CrawlRun.status == CrawlStatus.RUNNING)
            .values(status=CrawlStatus.FAILED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            continue
        session.refresh(run)
        owner = f"{run.host or '?'} pid {run.pid}" if run.pid is not None else "unknown"
        add_crawl_error(
            session=session,
            run_id=run.id,
            error={
                "source": "",
                "url": "",
                "error": f"crawl process disappeared (owner {owner} is gone; killed?)",
            },
        )
        reaped.append(run.id)
    return reaped


def get_crawl_run(*, session: Session, run_id: int) -> CrawlRun:
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise NotFoundError(f"no crawl run with id {run_id}")
    return run


def add_crawl_counts(*, session: Session, run_id: int, **deltas: int) -> None:
    """Add to a run's counters in one UPDATE, so concurrent writers never lose counts."""
    if not deltas:
        return
    values = {name: getattr(CrawlRun, name) + delta for name, delta in deltas.items() if delta}
    if values:
        session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(**values))


def add_crawl_error(*, session: Session, run_id: int, error: dict[str, str]) -> None:
    run = get_crawl_run(session=session, run_id=run_id)
    run.errors = [*run.errors, error][-200:]


def finish_crawl_run(
    *, session: Session, run_id: int, status: CrawlStatus, when: datetime
) -> CrawlRun:
    run = get_crawl_run(session=session, run_id=run_id)
    if run.status == CrawlStatus.RUNNING:
        run.status = status
        run.finished_at = when
    return run


def crawl_outcome(run: CrawlRun, *, crashed: bool) -> CrawlStatus:
    """Failed when a worker crashed, stories could not be stored or every source failed;
    partial when some sources failed."""
    fatal = (
        "crawl ended:",
        "stories could not be stored",
        "crawler process exited",
        "the database disk is full",
    )
    if crashed or any(str(e.get("error", "")).startswith(fatal) for e in run.errors):
        return CrawlStatus.FAILED
    if run.sources_total and (run.sources_failed or 0) >= run.sources_total:
        return CrawlStatus.FAILED  # every source failed: nothing was read
    return CrawlStatus.PARTIAL if run.failed else CrawlStatus.SUCCEEDED


def current_crawl_run(*, session: Session, run_id: int) -> CrawlRun:
    """The run as it stands: ``failed`` rather than ``running`` when its owner is gone
    (recorded in the caller's transaction)."""
    reap_dead_crawl_runs(session=session)
    return get_crawl_run(session=session, run_id=run_id)


def recent_crawl_runs(*, session: Session, limit: int = 20) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)))


def running_crawl_runs(*, session: Session, now: datetime | None = None) -> list[CrawlRun]:
    """Runs ``running`` whose owner is alive (a dead one is left for a writer to reap)."""
    now = now or utcnow()
    rows = session.scalars(select(CrawlRun).where(CrawlRun.status == CrawlStatus.RUNNING))
    return [run for run in rows if crawl_run_alive(run, now=now)]


def last_crawl_finished_at(*, session: Session) -> datetime | None:
    """When the most recent crawl run ended (any process), None before the first."""
    last: datetime | None = session.scalar(select(func.max(CrawlRun.finished_at)))
    return last


def any_story_needs_match(*, session: Session) -> bool:
    """Whether a stored story (or a new version) waits for topic matching (a partial index)."""
    found = session.scalar(select(Story.id).where(Story.matched_at.is_(None)).limit(1))
    return found is not None


# --- subscribers and subscriptions -------------------------------------------------


def _new_secret() -> str:
    return secrets.token_urlsafe(24)


def get_subscriber(*, session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email == email.strip().lower()))


def ensure_subscriber(
    *, session: Session, email: str, timezone: str = "UTC", locale: str | None = None
) -> Subscriber:
    """The subscriber with this address, created when new; it always has a link secret."""
    subscriber = get_subscriber(session=session, email=email)
    if subscriber is None:
        subscriber = Subscriber(email=email.strip().lower(), timezone=timezone, locale=locale)
        session.add(subscriber)
    if subscriber.token is None:
        subscriber.token = _new_secret()
    session.flush()
    return subscriber


def subscriber_by_token(*, session: Session, token: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.token == token))


def subscription_for(
    *, session: Session, subscriber: Subscriber, topic: Topic
) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber.id, Subscription.topic_id == topic.id
        )
    )


def new_subscription(
    *, session: Session, subscriber: Subscriber, topic: Topic, frequency: Frequency
) -> Subscription:
    """An unconfirmed subscription with its own unsubscribe secret."""
    sub = Subscription(
        subscriber_id=subscriber.id,
        topic_id=topic.id,
        unsubscribe_token=_new_secret(),
        frequency=frequency,
        confirmed=False,
        active=True,
    )
    session.add(sub)
    session.flush()
    return sub


def subscribe(
    *,
    session: Session,
    email: str,
    topic: Topic,
    frequency: Frequency,
    token: str,
    confirmed: bool,
    timezone: str = "UTC",
    send_hour: int = 8,
    send_weekday: int = 0,
    include_updates: bool | None = None,
    ordering: str | None = None,
) -> tuple[Subscription, bool]:
    """Create or update one subscription as the operator says; returns (subscription, created).

    Public sign-ups go through ``alerts.subscribe`` instead, which never
    activates anything before the address is confirmed.
    """
    subscriber = ensure_subscriber(session=session, email=email, timezone=timezone)
    subscriber.timezone = timezone
    sub = subscription_for(session=session, subscriber=subscriber, topic=topic)
    created = sub is None
    if sub is None:
        sub = Subscription(
            subscriber_id=subscriber.id,
            topic_id=topic.id,
            unsubscribe_token=token,
            frequency=frequency,
        )
        session.add(sub)
    sub.frequency = frequency
    sub.send_hour = send_hour
    sub.send_weekday = send_weekday
    if include_updates is not None:
        sub.include_updates = include_updates
    if ordering is not None:
        sub.ordering = ordering
    sub.active = True
    if confirmed and not sub.confirmed:
        sub.confirmed = True
        sub.confirmed_at = utcnow()
    session.flush()
    return sub, created


def subscriptions_of(*, session: Session, email: str) -> list[Subscription]:
    stmt = (
        select(Subscription)
        .join(Subscriber)
        .where(Subscriber.email == email.strip().lower())
        .order_by(Subscription.id)
    )
    return list(session.scalars(stmt))


def unsubscribe(*, session: Session, email: str, topic_slug: str | None = None) -> int:
    """Deactivate an address's subscriptions (one topic or all); returns how many changed."""
    changed = 0
    for sub in subscriptions_of(session=session, email=email):
        if topic_slug is not None and sub.topic.slug != topic_slug:
            continue
        if sub.active:
            sub.active = False
            changed += 1
    return changed


def subscription_by_token(*, session: Session, token: str) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.unsubscribe_token == token))


def list_subscriptions(
    *, session: Session, email: str | None = None, topic_slug: str | None = None
) -> list[Subscription]:
    stmt = select(Subscription).join(Subscriber).join(Topic).order_by(Subscription.id)
    if email is not None:
        stmt = stmt.where(Subscriber.email == email.strip().lower())
    if topic_slug is not None:
        stmt = stmt.where(Topic.slug == topic_slug)
    return list(session.scalars(stmt))


def suppress_address(*, session: Session, email: str, reason: str, when: datetime) -> bool:
    """Never mail this address again (bounce, spam report); False when it is not a subscriber."""
    subscriber = get_subscriber(session=session, email=email)
    if subscriber is None:
        return False
    if subscriber.suppressed_at is None:
        subscriber.suppressed_at = when
        subscriber.suppressed_reason = reason[:100]
    return True


def last_failed_digest(*, session: Session, subscription_id: int) -> Digest | None:
    """The latest digest of a subscription that could not be sent or whose fate is unknown."""
    return session.scalar(
        select(Digest)
        .where(
            Digest.subscription_id == subscription_id,
            Digest.status.in_([DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN]),
        )
        .order_by(Digest.id.desc())
        .limit(1)
    )
