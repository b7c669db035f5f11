"""Reads and writes of the alerts side: what is due to whom, and the delivery ledger.

Digests (one email per subscription and period, with a delivery row per
story), webhook batches, the coverage lines of digest entries, Atom feeds and
the mail provider's events. ``alerts.ledger`` decides *when* a row changes
state; the statements that change it live here.

Functions take a keyword-only ``session`` and never commit: the caller's unit
of work (a claim, a settle, a request) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    Event,
    MailEvent,
    Source,
    Story,
    StoryVersion,
    Subscriber,
    Subscription,
    TopicMatch,
    UpdateDelivery,
    Webhook,
    WebhookDelivery,
)

# Ids per IN (...) list: far below SQLite's and PostgreSQL's limits on bound
# parameters, so even a flood of thousands of stories needs only a few statements.
IN_LIST_CHUNK = 5000
# A delivery in one of these states means the subscriber has (or is getting) the story.
PROMISED = (DeliveryStatus.SENT, DeliveryStatus.UNKNOWN, DeliveryStatus.SENDING)


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    items = sorted(set(ids))
    return [items[i : i + IN_LIST_CHUNK] for i in range(0, len(items), IN_LIST_CHUNK)]


# --- who is due ------------------------------------------------------------------


def active_subscriptions(*, session: Session) -> list[Subscription]:
    """Confirmed, active subscriptions of addresses that are not suppressed."""
    stmt = (
        select(Subscription)
        .join(Subscriber)
        .where(
            Subscription.confirmed.is_(True),
            Subscription.active.is_(True),
            Subscriber.suppressed_at.is_(None),
        )
        .order_by(Subscription.id)
    )
    return list(session.scalars(stmt))


# --- what a digest may carry ----------------------------------------------------------


def unpromised_matches(
    *, session: Session, subscriber_id: int, topic_id: int, since: datetime
) -> list[tuple[Story, TopicMatch]]:
    """Stories matched to the topic since ``since`` and never promised to this subscriber.

    A promise released back to the queue (``pending``) does not count: its
    story is due again.
    """
    promised = select(Delivery.story_id).where(
        Delivery.subscriber_id == subscriber_id,
        Delivery.status != DeliveryStatus.PENDING,
    )
    stmt = (
        select(Story, TopicMatch)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .where(
            TopicMatch.topic_id == topic_id,
            TopicMatch.matched_at >= since,
            Story.id.not_in(promised),
        )
        .order_by(TopicMatch.matched_at, Story.id)
    )
    return [(story, match) for story, match in session.execute(stmt).all()]


def changed_since_sent(
    *, session: Session, subscriber_id: int, topic_id: int
) -> list[tuple[Story, TopicMatch, int]]:
    """Stories of the topic this subscriber was sent (or may have been) that have a newer
    version now, with the version sent."""
    rows = session.execute(
        select(Story, TopicMatch, Delivery.story_version)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .join(Delivery, Delivery.story_id == Story.id)
        .where(
            TopicMatch.topic_id == topic_id,
            Delivery.subscriber_id == subscriber_id,
            Delivery.status.in_((DeliveryStatus.SENT, DeliveryStatus.UNKNOWN)),
            Story.version > Delivery.story_version,
            Story.matched_at.is_not(None),
        )
        .order_by(Story.id)
    ).all()
    return [(story, match, version) for story, match, version in rows]


def announced_versions(
    *, session: Session, subscriber_id: int, story_ids: Collection[int]
) -> dict[int, int]:
    """The newest version of each story already announced to this subscriber as an update."""
    announced: dict[int, int] = {}
    for chunk in _chunks(story_ids):
        rows = session.execute(
            select(UpdateDelivery.story_id, func.max(UpdateDelivery.story_version))
            .where(
                UpdateDelivery.subscriber_id == subscriber_id,
                UpdateDelivery.status != DeliveryStatus.PENDING,
                UpdateDelivery.story_id.in_(chunk),
            )
            .group_by(UpdateDelivery.story_id)
        ).all()
        announced.update({story_id: version for story_id, version in rows})
    return announced


def version_title(*, session: Session, story_id: int, version: int) -> str | None:
    """The title a story had in an earlier version, if that version is kept."""
    return session.scalar(
        select(StoryVersion.title).where(
            StoryVersion.story_id == story_id, StoryVersion.version == version
        )
    )


def cluster_reports(
    *, session: Session, cluster_ids: Iterable[int]
) -> dict[int, list[tuple[int | None, str | None]]]:
    """For each cluster, the (source id, language) of every story in it: one statement
    for all the clusters of a digest, not one per entry."""
    reports: dict[int, list[tuple[int | None, str | None]]] = {}
    for chunk in _chunks(cluster_ids):
        rows = session.execute(
            select(Story.cluster_id, Story.source_id, Story.language).where(
                Story.cluster_id.in_(chunk)
            )
        ).all()
        for cluster_id, source_id, language in rows:
            if cluster_id is not None:
                reports.setdefault(cluster_id, []).append((source_id, language))
    return reports


def event_reports(
    *, session: Session, event_ids: Iterable[int]
) -> dict[int, list[tuple[int, int | None, str | None, str]]]:
    """For each event, the (story id, source id, language, address) of every report, earliest
    first: one statement for all the events of a digest."""
    reports: dict[int, list[tuple[int, int | None, str | None, str]]] = {}
    for chunk in _chunks(event_ids):
        rows = session.execute(
            select(Story.event_id, Story.id, Story.source_id, Story.language, Story.canonical_url)
            .where(Story.event_id.in_(chunk))
            .order_by(func.coalesce(Story.published_at, Story.fetched_at), Story.id)
        ).all()
        for event_id, story_id, source_id, language, url in rows:
            if event_id is not None:
                reports.setdefault(event_id, []).append((story_id, source_id, language, url))
    return reports


def event_leads(*, session: Session, event_ids: Iterable[int]) -> dict[int, int]:
    """The headline report of each event."""
    leads: dict[int, int] = {}
    for chunk in _chunks(event_ids):
        rows = session.execute(
            select(Event.id, Event.lead_story_id).where(Event.id.in_(chunk))
        ).all()
        leads.update({event_id: lead for event_id, lead in rows if lead is not None})
    return leads


def events_sent(
    *, session: Session, subscriber_id: int, event_ids: Iterable[int]
) -> dict[int, tuple[Delivery, Story]]:
    """For each event already promised to the subscriber (sent, maybe sent, or being sent),
    its earliest such delivery and that story."""
    found: dict[int, tuple[Delivery, Story]] = {}
    for chunk in _chunks(event_ids):
        rows = session.execute(
            select(Delivery, Story)
            .join(Story, Story.id == Delivery.story_id)
            .where(
                Delivery.subscriber_id == subscriber_id,
                Delivery.status.in_(PROMISED),
                Story.event_id.in_(chunk),
            )
            .order_by(Delivery.id)
        ).all()
        for delivery, story in rows:
            if story.event_id is not None:
                found.setdefault(story.event_id, (delivery, story))
    return found


def add_covered(
    *, session: Session, subscriber_id: int, stories: Sequence[Story], by: Delivery
) -> None:
    """Stories of an event the subscriber already had: promised with the delivery that
    carried the event, so they share its fate (sent, released, failed) and never come back."""
    for story in stories:
        session.add(
            Delivery(
                subscriber_id=subscriber_id,
                story_id=story.id,
                subscription_id=by.subscription_id,
                digest_id=by.digest_id,
                status=by.status,
                story_version=story.version,
                sent_at=by.sent_at,
            )
        )
    session.flush()


def source_names(*, session: Session, source_ids: Iterable[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for chunk in _chunks(source_ids):
        rows = session.execute(select(Source.id, Source.name).where(Source.id.in_(chunk))).all()
        names.update({source_id: name for source_id, name in rows})
    return names


def latest_matches(
    *, session: Session, topic_id: int, limit: int
) -> list[tuple[Story, TopicMatch]]:
    """The topic's most recently matched stories, newest first (an Atom feed)."""
    rows = session.execute(
        select(Story, TopicMatch)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .where(TopicMatch.topic_id == topic_id)
        .order_by(TopicMatch.matched_at.desc(), Story.id.desc())
        .limit(limit)
    ).all()
    return [(story, match) for story, match in rows]


def topic_stories_by_day(
    *, session: Session, topic_id: int, since: datetime, until: datetime
) -> dict[date, int]:
    """How many of the topic's stories each day (UTC) from ``since`` up to ``until`` holds.

    A story counts on the day it was published (the day it was found when its
    page gives no date), as on the archive's charts. The days are counted
    here rather than in SQL, where SQLite and PostgreSQL spell "the UTC day
    of" differently; one topic's matches over a few weeks are few rows.
    """
    when = func.coalesce(Story.published_at, Story.fetched_at)
    rows = session.scalars(
        select(when)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .where(TopicMatch.topic_id == topic_id, when >= since, when < until)
    )
    counts: dict[date, int] = {}
    for moment in rows:
        day = moment.astimezone(UTC).date()
        counts[day] = counts.get(day, 0) + 1
    return counts


# --- the digest ledger --------------------------------------------------------------------


def add_digest(
    *,
    session: Session,
    subscription_id: int,
    period_key: str,
    status: DeliveryStatus,
    now: datetime,
) -> Digest:
    """A new digest row, flushed so it has an id (and so a taken period fails here)."""
    digest = Digest(
        subscription_id=subscription_id,
        period_key=period_key,
        status=status,
        subject="",
        attempts=1,
        created_at=now,
    )
    session.add(digest)
    session.flush()
    return digest


def add_promises(
    *,
    session: Session,
    digest: Digest,
    subscriber_id: int,
    status: DeliveryStatus,
    stories: Sequence[Story],
    updates: Sequence[Story],
) -> None:
    """One delivery row per story (and per updated story's version) for this digest.

    Rows an earlier digest released (``pending``) are taken over, not duplicated;
    any other row for the same story is a unique-key violation at the flush.
    """
    for model, rows in ((Delivery, stories), (UpdateDelivery, updates)):
        session.execute(
            delete(model).where(
                model.subscriber_id == subscriber_id,
                model.story_id.in_([story.id for story in rows]),
                model.status == DeliveryStatus.PENDING,
            )
        )
        for story in rows:
            session.add(
                model(
                    subscriber_id=subscriber_id,
                    story_id=story.id,
                    subscription_id=digest.subscription_id,
                    digest_id=digest.id,
                    status=status,
                    story_version=story.version,
                )
            )
    session.flush()


def set_promises(
    *,
    session: Session,
    digest_id: int,
    status: DeliveryStatus,
    sent_at: datetime | None = None,
    detach: bool = False,
) -> None:
    """Give every delivery row of a digest this status (and ``sent_at``); ``detach``
    unlinks them from the digest, as a release does."""
    values: dict[str, object] = {"status": status}
    if sent_at is not None:
        values["sent_at"] = sent_at
    if detach:
        values["digest_id"] = None
    for model in (Delivery, UpdateDelivery):
        session.execute(update(model).where(model.digest_id == digest_id).values(values))


def stale_digests(*, session: Session, status: DeliveryStatus, before: datetime) -> list[Digest]:
    """Digests in ``status`` created before ``before`` (a send a dead process left)."""
    return list(
        session.scalars(select(Digest).where(Digest.status == status, Digest.created_at <= before))
    )


def problem_digests(*, session: Session, limit: int) -> list[Digest]:
    """The latest failed or unknown digests not yet released for sending again."""
    return list(
        session.scalars(
            select(Digest)
            .where(Digest.status.in_([DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN]))
            .where(Digest.released_at.is_(None))
            .order_by(Digest.id.desc())
            .limit(limit)
        )
    )


def digests_not_sent(
    *, session: Session, limit: int, subscription_id: int | None = None
) -> list[Digest]:
    """The latest digests that are not ``sent`` (deferred, failed, unknown, sending)."""
    stmt = select(Digest).where(Digest.status != DeliveryStatus.SENT)
    if subscription_id is not None:
        stmt = stmt.where(Digest.subscription_id == subscription_id)
    return list(session.scalars(stmt.order_by(Digest.id.desc()).limit(limit)))


def first_sent_after(*, session: Session, digest: Digest) -> Digest | None:
    """The subscription's first digest sent after ``digest`` was made, if any."""
    return session.scalar(
        select(Digest)
        .where(
            Digest.subscription_id == digest.subscription_id,
            Digest.id > digest.id,
            Digest.status == DeliveryStatus.SENT,
        )
        .order_by(Digest.id)
        .limit(1)
    )


def latest_digest(*, session: Session, subscription_id: int) -> Digest | None:
    """A subscription's most recent digest, whatever became of it."""
    return session.scalar(
        select(Digest)
        .where(Digest.subscription_id == subscription_id)
        .order_by(Digest.id.desc())
        .limit(1)
    )


# --- the webhook ledger -------------------------------------------------------------------


def list_webhooks(*, session: Session) -> list[Webhook]:
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def active_webhook_ids(*, session: Session) -> list[int]:
    return list(session.scalars(select(Webhook.id).where(Webhook.active.is_(True))))


def unfinished_batch_rows(
    *, session: Session, webhook_id: int, stale_before: datetime
) -> list[WebhookDelivery]:
    """Rows to post again, oldest first: ``pending``, or ``sending`` since before ``stale_before``."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.webhook_id == webhook_id,
                (WebhookDelivery.status == DeliveryStatus.PENDING)
                | (
                    (WebhookDelivery.status == DeliveryStatus.SENDING)
                    & (WebhookDelivery.created_at <= stale_before)
                ),
            )
            .order_by(WebhookDelivery.id)
        )
    )


def webhook_versions(*, session: Session, webhook_id: int) -> dict[int, int]:
    """The newest version of each story this webhook was given (or promised)."""
    rows = session.execute(
        select(WebhookDelivery.story_id, func.max(WebhookDelivery.story_version))
        .where(WebhookDelivery.webhook_id == webhook_id)
        .group_by(WebhookDelivery.story_id)
    ).all()
    return {story_id: version for story_id, version in rows}


def matches_since(
    *, session: Session, topic_id: int, since: datetime
) -> list[tuple[Story, TopicMatch]]:
    """Stories matched to the topic since ``since``, oldest match first."""
    rows = session.execute(
        select(Story, TopicMatch)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .where(TopicMatch.topic_id == topic_id, TopicMatch.matched_at >= since)
        .order_by(TopicMatch.matched_at, Story.id)
    ).all()
    return [(story, match) for story, match in rows]


def matches_of(
    *, session: Session, topic_id: int, story_ids: Collection[int]
) -> list[tuple[Story, TopicMatch]]:
    """These stories with their match to the topic."""
    pairs: list[tuple[Story, TopicMatch]] = []
    for chunk in _chunks(story_ids):
        rows = session.execute(
            select(Story, TopicMatch)
            .join(TopicMatch, TopicMatch.story_id == Story.id)
            .where(TopicMatch.topic_id == topic_id, Story.id.in_(chunk))
        ).all()
        pairs += [(story, match) for story, match in rows]
    return pairs


def stories_in_other_batches(
    *, session: Session, webhook_id: int, story_ids: Collection[int], batch_id: str
) -> set[int]:
    """Which of these stories the webhook was given in another batch (so now as updates)."""
    found: set[int] = set()
    for chunk in _chunks(story_ids):
        found.update(
            session.scalars(
                select(WebhookDelivery.story_id).where(
                    WebhookDelivery.webhook_id == webhook_id,
                    WebhookDelivery.story_id.in_(chunk),
                    WebhookDelivery.batch_id != batch_id,
                )
            )
        )
    return found


def add_batch(
    *,
    session: Session,
    webhook_id: int,
    batch_id: str,
    status: DeliveryStatus,
    stories: Sequence[Story],
    now: datetime,
) -> list[WebhookDelivery]:
    """One row per story version for a new batch (a version already given fails the flush)."""
    rows = [
        WebhookDelivery(
            webhook_id=webhook_id,
            story_id=story.id,
            story_version=story.version,
            batch_id=batch_id,
            status=status,
            attempts=0,
            created_at=now,
        )
        for story in stories
    ]
    session.add_all(rows)
    session.flush()
    return rows


def batch_rows(*, session: Session, batch_id: str) -> list[WebhookDelivery]:
    return list(
        session.scalars(select(WebhookDelivery).where(WebhookDelivery.batch_id == batch_id))
    )


def note_digest_accepted(
    *, session: Session, message_id: str, provider_id: str | None, when: datetime
) -> bool:
    """The transport took the message with this Message-ID; True when a digest sending it was found."""
    result = session.execute(
        update(Digest)
        .where(Digest.message_id == message_id, Digest.status == DeliveryStatus.SENDING)
        .values(accepted_at=when, provider_id=provider_id)
    )
    return bool(getattr(result, "rowcount", 0))


def digest_mail_events(
    *, session: Session, digest_id: int, message_ids: Sequence[str]
) -> list[MailEvent]:
    """The provider's events about a digest: by its ``digest_id`` custom argument, its
    Message-ID (SendGrid's ``smtp-id``) or the provider's id (``sg_message_id`` starts
    with the X-Message-Id the API returned)."""
    matches = [MailEvent.digest_id == digest_id]
    for value in filter(None, message_ids):
        matches.append(MailEvent.message_id == value)
        matches.append(MailEvent.message_id.startswith(value + ".", autoescape=True))
    return list(session.scalars(select(MailEvent).where(or_(*matches)).order_by(MailEvent.id)))


# --- the mail provider's events -----------------------------------------------------------


def record_mail_event(
    *,
    session: Session,
    message_id: str,
    event: str,
    timestamp: int,
    email: str,
    digest_id: int | None,
    reason: str | None,
    received_at: datetime,
) -> bool:
    """Insert the event unless it is known by its natural key; True when it is new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(MailEvent)
        .values(
            message_id=message_id,
            event=event,
            timestamp=timestamp,
            email=email,
            digest_id=digest_id,
            reason=reason,
            received_at=received_at,
        )
        .on_conflict_do_nothing(index_elements=["message_id", "event", "timestamp", "email"])
        .returning(MailEvent.id)
    )
    return session.scalar(stmt) is not None
