"""The delivery ledger: one set of rules for every message that promises stories.

Digests (email) and webhook batches (signed POSTs) keep the same ledger, so a
crash at any point neither repeats nor loses a story:

1. **claim** (one transaction): the message's rows, all ``sending``: for a
   digest, a row unique per subscription and period and one delivery row per
   (subscriber, story), unique forever (an update: per subscriber, story and
   version); for a webhook, one row per (webhook, story, version) under a
   batch id. A second process loses the race on those unique keys and sends
   nothing.
2. **send**, outside any transaction.
3. **settle** (one transaction): ``sent``; ``failed`` when the message can
   never go out; ``unknown`` when the transport may or may not have taken it;
   or **release**: the transport is away for now, and the stories go back to
   ``pending`` for the next run.

**Recover**: rows still ``sending`` after ``STALE_SENDING`` belong to a process
that died mid-send. A digest then becomes ``unknown`` (or ``sent``, when there
is proof: the transport's "accepted" recorded the moment it came, the mail
provider's event reports, or the outbox's file), never resent blindly,
because email has no idempotency key; an operator's resend looks for the same
proof first; a webhook batch is simply posted again under the same batch id, which
receivers use to skip what they already handled.

**Instant hold**: while a crawl is storing stories, instant messages (instant
digests, webhooks) wait for it to finish, so one crawl becomes one message,
but never longer than ``instant_batch_minutes`` after their oldest story
matched.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from core.errors import NotFoundError, WirewatchError
from core.settings import Settings
from db import deliveries, queries
from db.models import DeliveryStatus, Digest, Story, Subscription, Webhook, WebhookDelivery
from db.session import unit_of_work
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.senders import OutgoingMessage, Sender
from alerts.senders.message import ReportsAcceptance

log = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=15)
_T = TypeVar("_T")


# A release by `release` (the transport away for now) starts the digest's error with
# this; one by `release_for_resend` (an operator's decision) with RESEND_PREFIX.
DEFERRED_PREFIX = "deferred: "
RESEND_PREFIX = "released for resending"


class Outcome(enum.StrEnum):
    """What became of a digest, in the words every operator view uses.

    The stored status alone misleads: a digest deferred because the transport
    was away is stored ``failed`` (with its stories back in the queue), yet
    nothing failed for good. `digest send`, `digest status` and
    `subscriptions list` all name a digest by ``outcome(digest)``.
    """

    SENT = "sent"
    SENDING = "sending"
    DEFERRED = "deferred"  # transport away: its stories go out with a later run
    RESENDING = "released for resending"  # an operator's `digest resend`
    FAILED = "failed"  # can never go out as it was (refused address, bad message)
    UNKNOWN = "unknown"  # may or may not have arrived (crash or lost answer mid-send)

    @property
    def needs_attention(self) -> bool:
        """Only these wait for an operator (`wirewatch digest resend ID`)."""
        return self in (Outcome.FAILED, Outcome.UNKNOWN)


def outcome(digest: Digest) -> Outcome:
    """The one reading of a digest's state that every view shows."""
    if digest.status == DeliveryStatus.SENT:
        return Outcome.SENT
    if digest.status in (DeliveryStatus.SENDING, DeliveryStatus.PENDING):
        return Outcome.SENDING
    if digest.released_at is not None:
        error = digest.error or ""
        return Outcome.RESENDING if error.startswith(RESEND_PREFIX) else Outcome.DEFERRED
    if digest.status == DeliveryStatus.UNKNOWN:
        return Outcome.UNKNOWN
    return Outcome.FAILED


def describe(digest: Digest, later_sent: Digest | None = None) -> str:
    """What happens next to a digest, for an operator, in one line."""
    state = outcome(digest)
    if state == Outcome.DEFERRED:
        if later_sent is not None:
            return f"its stories went out in digest {later_sent.id}"
        return "its stories go out with the next digest run"
    if state == Outcome.RESENDING:
        if later_sent is not None:
            return f"its stories went out again in digest {later_sent.id}"
        return "its stories go out again with the next digest run"
    if state == Outcome.FAILED:
        return f"not sent; `wirewatch digest resend {digest.id}` tries again"
    if state == Outcome.UNKNOWN:
        return (
            f"may or may not have arrived; `wirewatch digest resend {digest.id}` "
            "looks for proof, then sends again"
        )
    return ""


class ResendRefusedError(WirewatchError):
    """Only a digest whose fate is unknown, or that failed, may be sent again."""


class AlreadyDeliveredError(ResendRefusedError):
    """The digest reached the mail server after all; it is now recorded as sent."""


def stale_before(now: datetime) -> datetime:
    """Rows ``sending`` since before this moment were left by a process that died."""
    return now - STALE_SENDING


# -- instant hold ---------------------------------------------------------------------------


def crawl_in_progress(session: Session) -> bool:
    """True while a crawl is storing stories (instant messages then wait for it).

    A run whose process was killed does not count, scheduler or not: its owner is
    looked up (or its heartbeat read), so it cannot hold instant messages for ever.
    """
    return bool(queries.running_crawl_runs(session=session))


def hold_for_crawl(
    settings: Settings, *, crawling: bool, waiting_since: datetime, now: datetime
) -> bool:
    """Whether an instant message should wait for the crawl in progress: only while its
    oldest story has waited less than ``instant_batch_minutes``."""
    return crawling and now - waiting_since < timedelta(minutes=settings.instant_batch_minutes)


# -- claim ----------------------------------------------------------------------------------


@dataclass
class Claim:
    """The transaction of one claim; what it wrote is rolled back unless ``keep`` is called."""

    session: Session
    kept: bool = False

    def keep(self) -> None:
        """Commit at the end of the claim (a hold, a dry run or a no-op leave no trace)."""
        self.kept = True


def claim(
    factory: sessionmaker[Session], steps: Callable[[Claim], _T | None], *, what: str
) -> _T | None:
    """Run a claim's ``steps`` in one transaction; None when another process won the race.

    A unique key refusing the rows (when they are flushed or committed) means
    another scheduler claimed the same period or stories first: it sends them,
    this process sends nothing.
    """
    with factory() as session:
        transaction = session.begin()
        current = Claim(session)
        try:
            result = steps(current)
            if current.kept:
                transaction.commit()
            else:
                transaction.rollback()
            return result
        except IntegrityError:
            transaction.rollback()
            log.warning("%s already claimed by another process", what)
            return None
        except BaseException:
            transaction.rollback()
            raise


# -- digests --------------------------------------------------------------------------------


def record_digest(
    session: Session,
    sub: Subscription,
    period_key: str,
    *,
    stories: Sequence[Story],
    updates: Sequence[Story],
    now: datetime,
) -> Digest:
    """Claim a period and its stories: the digest row and a delivery row per story, ``sending``.

    A taken period or a story already promised to the subscriber fails here
    with IntegrityError (see ``claim``).
    """
    digest = deliveries.add_digest(
        session=session,
        subscription_id=sub.id,
        period_key=period_key,
        status=DeliveryStatus.SENDING,
        now=now,
    )
    deliveries.add_promises(
        session=session,
        digest=digest,
        subscriber_id=sub.subscriber_id,
        status=DeliveryStatus.SENDING,
        stories=stories,
        updates=updates,
    )
    return digest


def watch_acceptance(factory: sessionmaker[Session], sender: Sender) -> None:
    """Have a network sender record each "accepted" the moment the server says it."""
    if isinstance(sender, ReportsAcceptance) and sender.on_accepted is None:

        def accepted(message: OutgoingMessage, provider_id: str | None) -> None:
            with unit_of_work(factory) as session:
                deliveries.note_digest_accepted(
                    session=session,
                    message_id=message.message_id,
                    provider_id=provider_id,
                    when=datetime.now(UTC),
                )

        sender.on_accepted = accepted


def delivery_evidence(session: Session, digest: Digest, sender: Sender | None) -> str | None:
    """Why we know the digest reached its mail server, or None when nothing says so.

    Checked, in turn: the server's "accepted" (SMTP 250, SendGrid 202) recorded the
    moment it came; the mail provider's event reports about the message (any
    event, even a bounce, means SendGrid took it); the transport itself (the
    outbox's file). Not knowing is no proof of the opposite.
    """
    if digest.accepted_at is not None:
        given = f" as {digest.provider_id}" if digest.provider_id else ""
        return (
            f"the {digest.transport or 'mail'} server accepted it{given} at "
            f"{digest.accepted_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    events = deliveries.digest_mail_events(
        session=session,
        digest_id=digest.id,
        message_ids=[v for v in (digest.message_id, digest.provider_id) if v],
    )
    if events:
        return f"the mail provider reported '{events[0].event}' for it"
    if sender is not None and digest.message_id and sender.was_delivered(digest.message_id):
        return f"the {sender.name} transport holds it"
    return None


def address(digest: Digest, message: OutgoingMessage, *, transport: str) -> None:
    """Remember which message carries the digest, so a provider's report can find it."""
    digest.subject = message.subject
    digest.message_id = message.message_id
    digest.transport = transport


def settle(
    factory: sessionmaker[Session],
    digest_id: int,
    status: DeliveryStatus,
    *,
    transport: str | None = None,
    provider_id: str | None = None,
    error: str | None = None,
) -> None:
    """Record how a claimed digest ended, for it and each of its deliveries."""
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            return
        if digest.status == DeliveryStatus.SENT and status == DeliveryStatus.UNKNOWN:
            return  # the provider's event webhook already reported it sent
        if transport:
            digest.transport = transport
        if provider_id:
            digest.message_id = provider_id
            digest.provider_id = provider_id
        if error is not None:
            digest.error = error[:2000]
        _set_status(session, digest, status, sent_at=now)


def confirm_sent(session: Session, digest_id: int) -> bool:
    """The provider reports the digest's message sent (inside the caller's transaction).

    Only a digest whose fate is open, ``unknown`` or still ``sending``, changes;
    True when it did.
    """
    digest = session.get(Digest, digest_id)
    if digest is None or digest.status not in (DeliveryStatus.UNKNOWN, DeliveryStatus.SENDING):
        return False
    _set_status(session, digest, DeliveryStatus.SENT, sent_at=digest.sent_at or datetime.now(UTC))
    return True


def _set_status(
    session: Session, digest: Digest, status: DeliveryStatus, *, sent_at: datetime
) -> None:
    """The digest and its deliveries take ``status``; ``sent_at`` is kept only for ``sent``."""
    digest.status = status
    if status == DeliveryStatus.SENT:
        digest.sent_at = sent_at
    deliveries.set_promises(
        session=session,
        digest_id=digest.id,
        status=status,
        sent_at=sent_at if status == DeliveryStatus.SENT else None,
    )


def release(factory: sessionmaker[Session], digest_id: int, error: str) -> None:
    """The transport is away for now: free the stories for the next run."""
    with unit_of_work(factory) as session:
        _release(session, digest_id, f"{DEFERRED_PREFIX}{error}")


def release_for_resend(
    factory: sessionmaker[Session], digest_id: int, sender: Sender | None = None
) -> Digest:
    """An operator decided an ``unknown`` or ``failed`` digest should go out again.

    First the proof that it went out after all is looked for (``delivery_evidence``,
    with ``sender`` asked too): when there is some, the digest is recorded as sent
    and AlreadyDeliveredError says why, instead of a second copy going out.
    """
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is not None and digest.status == DeliveryStatus.UNKNOWN:
            evidence = delivery_evidence(session, digest, sender)
            if evidence is not None:
                digest.error = f"recorded as sent on resend: {evidence}"
                _set_status(session, digest, DeliveryStatus.SENT, sent_at=datetime.now(UTC))
        else:
            evidence = None
    if evidence is not None:
        raise AlreadyDeliveredError(
            f"digest {digest_id} is not sent again: {evidence}; it is now recorded as sent"
        )
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            raise NotFoundError(f"no digest with id {digest_id}")
        if digest.released_at is not None:
            raise ResendRefusedError(f"digest {digest_id} was already released; nothing to do")
        if digest.status not in (DeliveryStatus.UNKNOWN, DeliveryStatus.FAILED):
            raise ResendRefusedError(
                f"digest {digest_id} is {digest.status.value}; only unknown or failed "
                "digests can be sent again"
            )
        _release(session, digest_id, f"{RESEND_PREFIX} (was {outcome(digest).value})")
        session.flush()
        session.expunge(digest)
        return digest


def _release(session: Session, digest_id: int, error: str) -> None:
    """The digest gives up its stories (back to ``pending``) and its period."""
    digest = session.get(Digest, digest_id)
    if digest is None:
        raise NotFoundError(f"no digest with id {digest_id}")
    digest.status = DeliveryStatus.FAILED
    digest.error = error[:2000]
    # Frees the period, so a later run in the same period may send.
    digest.released_at = digest.released_at or datetime.now(UTC)
    deliveries.set_promises(
        session=session, digest_id=digest_id, status=DeliveryStatus.PENDING, detach=True
    )
    sub = session.get(Subscription, digest.subscription_id)
    if sub is not None:
        sub.last_digest_at = None


def recover_interrupted(factory: sessionmaker[Session], sender: Sender, *, now: datetime) -> int:
    """Settle digests a killed process left in ``sending``; returns how many stay unknown."""
    unknown = 0
    with unit_of_work(factory) as session:
        stale = deliveries.stale_digests(
            session=session, status=DeliveryStatus.SENDING, before=stale_before(now)
        )
        for digest in stale:
            # Only proof of sending changes the outcome: "not found" is no proof of
            # the opposite (an operator may have moved the outbox's files away).
            evidence = delivery_evidence(session, digest, sender)
            status = DeliveryStatus.SENT if evidence else DeliveryStatus.UNKNOWN
            digest.status = status
            if evidence:
                digest.sent_at = digest.accepted_at or now
                digest.error = f"process stopped while sending; sent: {evidence}"
            else:
                unknown += 1
                digest.error = "process stopped while sending; not resent to avoid a duplicate"
            deliveries.set_promises(
                session=session,
                digest_id=digest.id,
                status=status,
                sent_at=digest.sent_at if evidence else None,
            )
    return unknown


# -- webhook batches ------------------------------------------------------------------------


def unfinished_batch(session: Session, webhook_id: int, now: datetime) -> list[WebhookDelivery]:
    """The batch to post again before any new one: released (``pending``), or left
    ``sending`` by a process that died. Its batch id stays, so receivers skip a repeat."""
    rows = deliveries.unfinished_batch_rows(
        session=session, webhook_id=webhook_id, stale_before=stale_before(now)
    )
    if not rows:
        return []
    first = rows[0].batch_id
    return [row for row in rows if row.batch_id == first]


def record_batch(
    session: Session, webhook_id: int, stories: Sequence[Story], *, now: datetime
) -> list[WebhookDelivery]:
    """Claim these story versions for the webhook under a new batch id, ``sending``."""
    return deliveries.add_batch(
        session=session,
        webhook_id=webhook_id,
        batch_id=uuid.uuid4().hex,
        status=DeliveryStatus.SENDING,
        stories=stories,
        now=now,
    )


def start_attempt(rows: Sequence[WebhookDelivery]) -> None:
    """The batch is about to be posted (again)."""
    for row in rows:
        row.status = DeliveryStatus.SENDING
        row.attempts += 1


def settle_batch(
    factory: sessionmaker[Session],
    webhook_id: int,
    batch_id: str,
    outcome: DeliveryStatus,
    error: str,
) -> None:
    """Record how a POST ended: ``sent``, ``failed``, or ``pending`` (released: the same
    batch is posted again next run); and the webhook's health."""
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        for row in deliveries.batch_rows(session=session, batch_id=batch_id):
            row.status = outcome
            if outcome == DeliveryStatus.SENT:
                row.sent_at = now
        webhook = session.get(Webhook, webhook_id)
        if webhook is None:
            return
        if outcome == DeliveryStatus.SENT:
            webhook.last_success_at = now
            webhook.failures = 0
            webhook.last_error = None
        else:
            webhook.failures += 1
            webhook.last_error = error[:2000]
