"""Send due digests, each story to each subscriber at most once.

Every send follows the same ledger protocol, so a crash at any point neither
repeats nor loses a story:

1. *claim* (one transaction): create the digest row, unique per subscription
   and period, and one delivery row per (subscriber, story), unique forever;
   both start as ``sending``. A second scheduler loses the race on the unique
   keys and sends nothing.
2. *send*, outside any transaction, with bounded retries.
3. *settle* (one transaction): ``sent``; or, when the transport is only
   temporarily unavailable, the deliveries are released so the next run
   sends them; or ``failed`` when the message can never go out.

A process killed between 1 and 3 leaves ``sending`` rows. On the next run
they become ``unknown`` (or ``sent``, when the transport can prove it, as the
outbox can): they are not sent again blindly, and the rest is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import DigestEntry, compose_digest, entries_for
from alerts.matching import match_pending
from alerts.schedule import due_period, first_window
from alerts.senders import OutgoingMessage, Sender, send_with_retry
from db.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    Story,
    Subscriber,
    Subscription,
    TopicMatch,
)
from db.session import unit_of_work
from wirewatch.errors import PermanentDeliveryError, TemporaryDeliveryError, TransportAuthError
from wirewatch.settings import Settings

log = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=15)


@dataclass
class DigestRunSummary:
    considered: int = 0
    sent: int = 0
    stories: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    previews: list[OutgoingMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def send_due_digests(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: Sender,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    sleep: Callable[[float], None] | None = None,
) -> DigestRunSummary:
    """One pass over all subscriptions: send what is due, record everything."""
    now = now or datetime.now(UTC)
    summary = DigestRunSummary()
    with unit_of_work(factory) as session:
        match_pending(session)
    if not dry_run:
        summary.unknown = recover_interrupted(factory, sender, now=now)
    with factory() as session:
        due = [
            (sub.id, period)
            for sub in _active_subscriptions(session)
            if (period := due_period(sub, sub.subscriber.timezone, now)) is not None
        ]
    for subscription_id, period in due:
        summary.considered += 1
        try:
            _send_one(
                factory, settings, sender, subscription_id, period, now, dry_run, summary, sleep
            )
        except TransportAuthError as exc:
            summary.errors.append(f"mail transport refused our credentials, run stopped: {exc}")
            log.error("mail transport refused our credentials; stopping the digest run: %s", exc)
            break
    return summary


def _active_subscriptions(session: Session) -> list[Subscription]:
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


def _candidates(session: Session, sub: Subscription) -> list[tuple[Story, TopicMatch]]:
    """Stories matched to the topic since the subscription began and never promised to this subscriber."""
    floor = (sub.confirmed_at or sub.created_at) - first_window(sub.frequency)
    promised = select(Delivery.story_id).where(
        Delivery.subscriber_id == sub.subscriber_id,
        Delivery.status != DeliveryStatus.PENDING,
    )
    stmt = (
        select(Story, TopicMatch)
        .join(TopicMatch, TopicMatch.story_id == Story.id)
        .where(
            TopicMatch.topic_id == sub.topic_id,
            TopicMatch.matched_at >= floor,
            Story.id.not_in(promised),
        )
        .order_by(TopicMatch.matched_at, Story.id)
    )
    return [(story, match) for story, match in session.execute(stmt).all()]


def _send_one(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: Sender,
    subscription_id: int,
    period: str,
    now: datetime,
    dry_run: bool,
    summary: DigestRunSummary,
    sleep: Callable[[float], None] | None,
) -> None:
    claimed = _claim(factory, settings, subscription_id, period, now, dry_run)
    if claimed is None:
        return
    digest_id, message, story_count = claimed
    if dry_run:
        summary.previews.append(message)
        return
    try:
        kwargs = {"sleep": sleep} if sleep is not None else {}
        result = send_with_retry(
            sender,
            message,
            max_attempts=settings.send_max_attempts,
            backoff_max=settings.send_backoff_max_seconds,
            **kwargs,
        )
    except TransportAuthError as exc:
        _release(factory, digest_id, str(exc))
        summary.deferred += 1
        raise
    except TemporaryDeliveryError as exc:
        _release(factory, digest_id, str(exc))
        summary.deferred += 1
        summary.errors.append(f"digest {digest_id} to {message.to} deferred: {exc}")
        return
    except PermanentDeliveryError as exc:
        _fail(factory, digest_id, str(exc))
        summary.failed += 1
        summary.errors.append(f"digest {digest_id} to {message.to} failed: {exc}")
        return
    _settle_sent(factory, digest_id, result.transport, result.provider_id or message.message_id)
    summary.sent += 1
    summary.stories += story_count


def _claim(
    factory: sessionmaker[Session],
    settings: Settings,
    subscription_id: int,
    period: str,
    now: datetime,
    dry_run: bool,
) -> tuple[int, OutgoingMessage, int] | None:
    session = factory()
    transaction = session.begin()
    try:
        sub = session.get(Subscription, subscription_id)
        candidates = _candidates(session, sub) if sub is not None else []
        if sub is None or not candidates:
            # Nothing new: no email, and the period counts as handled.
            if sub is not None and not dry_run and sub.frequency.value != "instant":
                sub.last_digest_at = now
            transaction.commit()
            return None
        candidates = candidates[: settings.digest_max_items]
        entries = entries_for(session, sub, candidates)
        digest = Digest(
            subscription_id=sub.id,
            period_key=period,
            status=DeliveryStatus.SENDING,
            subject="",
            attempts=1,
            created_at=now,
        )
        session.add(digest)
        session.flush()
        message = compose_digest(settings, sub, entries, digest_id=digest.id, now=now)
        digest.subject = message.subject
        digest.message_id = message.message_id
        digest.transport = settings.effective_mail_transport
        _promise(session, sub, digest.id, entries)
        claimed = (digest.id, message, len(entries))
        if dry_run:
            transaction.rollback()
            return claimed
        sub.last_digest_at = now
        sub.last_sent_through = max(m.matched_at for _, m in candidates)
        transaction.commit()
        return claimed
    except IntegrityError:
        # Another scheduler claimed this period or these stories first.
        transaction.rollback()
        log.warning("digest for subscription %s period %s already claimed", subscription_id, period)
        return None
    except BaseException:
        transaction.rollback()
        raise
    finally:
        session.close()


def _promise(
    session: Session, sub: Subscription, digest_id: int, entries: list[DigestEntry]
) -> None:
    stories = [story for entry in entries for story in entry.all_stories]
    story_ids = [story.id for story in stories]
    # Deliveries released by an earlier deferred digest are taken over, not duplicated.
    session.execute(
        delete(Delivery).where(
            Delivery.subscriber_id == sub.subscriber_id,
            Delivery.story_id.in_(story_ids),
            Delivery.status == DeliveryStatus.PENDING,
        )
    )
    for story in stories:
        session.add(
            Delivery(
                subscriber_id=sub.subscriber_id,
                story_id=story.id,
                subscription_id=sub.id,
                digest_id=digest_id,
                status=DeliveryStatus.SENDING,
                story_version=story.version,
            )
        )
    session.flush()


def _settle_sent(
    factory: sessionmaker[Session], digest_id: int, transport: str, provider_id: str
) -> None:
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            return
        digest.status = DeliveryStatus.SENT
        digest.sent_at = now
        digest.transport = transport
        digest.message_id = provider_id
        session.execute(
            update(Delivery)
            .where(Delivery.digest_id == digest_id)
            .values(status=DeliveryStatus.SENT, sent_at=now)
        )


def _release(factory: sessionmaker[Session], digest_id: int, error: str) -> None:
    """The transport is away for now: free the stories for the next run."""
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            return
        digest.status = DeliveryStatus.FAILED
        digest.error = f"deferred: {error}"[:2000]
        # Free the period so a later run in the same period may send.
        digest.period_key = f"{digest.period_key}~{digest.id}"[:40]
        session.execute(
            update(Delivery)
            .where(Delivery.digest_id == digest_id)
            .values(status=DeliveryStatus.PENDING, digest_id=None)
        )
        sub = session.get(Subscription, digest.subscription_id)
        if sub is not None:
            sub.last_digest_at = None


def _fail(factory: sessionmaker[Session], digest_id: int, error: str) -> None:
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            return
        digest.status = DeliveryStatus.FAILED
        digest.error = error[:2000]
        session.execute(
            update(Delivery)
            .where(Delivery.digest_id == digest_id)
            .values(status=DeliveryStatus.FAILED)
        )


def recover_interrupted(factory: sessionmaker[Session], sender: Sender, *, now: datetime) -> int:
    """Settle digests a killed process left in ``sending``; returns how many stay unknown."""
    confirm = getattr(sender, "was_delivered", None)
    unknown = 0
    with unit_of_work(factory) as session:
        stale = session.scalars(
            select(Digest).where(
                Digest.status == DeliveryStatus.SENDING,
                Digest.created_at <= now - STALE_SENDING,
            )
        ).all()
        for digest in stale:
            delivered = bool(confirm and digest.message_id and confirm(digest.message_id))
            status = DeliveryStatus.SENT if delivered else DeliveryStatus.UNKNOWN
            digest.status = status
            if not delivered:
                unknown += 1
                digest.error = "process stopped while sending; not resent to avoid a duplicate"
            session.execute(
                update(Delivery).where(Delivery.digest_id == digest.id).values(status=status)
            )
    return unknown
