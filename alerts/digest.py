"""Send due digests, each story to each subscriber at most once.

Every send follows the same ledger protocol, so a crash at any point neither
repeats nor loses a story:

1. *claim* (one transaction): create the digest row, unique per subscription
   and period, and one delivery row per (subscriber, story), unique forever
   (an update of a story already sent gets one row per (subscriber, story,
   version)); all start as ``sending``. A second scheduler loses the race on
   the unique keys and sends nothing.
2. *send*, outside any transaction, with bounded retries.
3. *settle* (one transaction): ``sent``; or, when the transport is only
   temporarily unavailable, the deliveries are released so the next run
   sends them; or ``failed`` when the message can never go out; or
   ``unknown`` when the transport may or may not have taken it (a lost
   answer), which is never resent blindly.

A process killed between 1 and 3 leaves ``sending`` rows. On a later run
they become ``unknown`` (or ``sent``, when the transport can prove it, as the
outbox can, or when the provider's event webhook reports the message): they
are not sent again blindly, and the rest is. ``release_for_resend`` lets an
operator send an unknown or failed digest again on purpose.

Instant digests are batched: while a crawl is storing stories, they wait for
it to finish, but never longer than ``instant_batch_minutes`` after a story
matched, so one crawl becomes one email.

A digest holds at most ``digest_max_items`` entries; what does not fit goes
out in further messages of the same run ("parts"), so a flood is never left
behind. An instant digest's period is named after the stories it carries, not
after those still waiting: two schedulers racing for the same stories collide,
and a message that leaves stories for the next part never blocks it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.errors import (
    NotFoundError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
    UncertainDeliveryError,
    WirewatchError,
)
from core.settings import Settings
from db import deliveries, queries
from db.models import (
    DeliveryStatus,
    Digest,
    Frequency,
    Story,
    Subscription,
)
from db.session import unit_of_work
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from alerts.compose import Candidate, Coverage, DigestContent, build_entries, compose_digest
from alerts.matching import match_all_pending
from alerts.schedule import due_period, first_window, zone
from alerts.senders import OutgoingMessage, Sender, send_with_retry
from alerts.tokens import Tokens, new_secret
from alerts.webhooks import WebhookRunSummary, deliver_webhooks

log = logging.getLogger(__name__)
STALE_SENDING = timedelta(minutes=15)


class ResendRefusedError(WirewatchError):
    """Only a digest whose fate is unknown, or that failed, may be sent again."""


@dataclass
class DigestRunSummary:
    considered: int = 0
    sent: int = 0
    stories: int = 0
    updates: int = 0
    failed: int = 0
    deferred: int = 0
    unknown: int = 0
    held: int = 0
    # The transport refused our credentials and the run stopped: a configuration
    # problem for the operator, so `wirewatch digest send` exits non-zero.
    transport_refused: bool = False
    previews: list[OutgoingMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    webhooks: WebhookRunSummary | None = None


@dataclass(frozen=True)
class _Claimed:
    digest_id: int
    message: OutgoingMessage
    stories: int
    updates: int
    more: int


def send_due_digests(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: Sender,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    sleep: Callable[[float], None] | None = None,
    tokens: Tokens | None = None,
    webhooks: bool = True,
) -> DigestRunSummary:
    """One pass over all subscriptions (and webhooks): send what is due, record everything."""
    now = now or datetime.now(UTC)
    tokens = tokens or Tokens.from_settings(settings)
    summary = DigestRunSummary()
    match_all_pending(factory)
    if not dry_run:
        summary.unknown = recover_interrupted(factory, sender, now=now)
    with factory() as session:
        crawling = crawl_in_progress(session)
        due = [
            (sub.id, period)
            for sub in deliveries.active_subscriptions(session=session)
            if (period := due_period(sub, sub.subscriber.timezone, now)) is not None
        ]
    for subscription_id, period in due:
        summary.considered += 1
        try:
            part = 1
            while (
                _send_one(
                    factory,
                    settings,
                    sender,
                    subscription_id,
                    _part_key(period, part),
                    now,
                    dry_run,
                    summary,
                    sleep,
                    tokens,
                    crawling,
                )
                and not dry_run
            ):
                part += 1
        except TransportAuthError as exc:
            summary.transport_refused = True
            summary.errors.append(f"mail transport refused our credentials, run stopped: {exc}")
            log.error("mail transport refused our credentials; stopping the digest run: %s", exc)
            break
    if webhooks and not dry_run:
        summary.webhooks = deliver_webhooks(factory, settings, now=now, crawling=crawling)
    return summary


def _part_key(period: str, part: int) -> str:
    """The first message of a period carries its plain key; later parts are numbered."""
    return period if part == 1 else f"{period}+{part}"


def crawl_in_progress(session: Session) -> bool:
    """True while a crawl is storing stories (instant digests then wait for it)."""
    return bool(queries.running_crawl_runs(session=session))


def _candidates(session: Session, sub: Subscription) -> list[Candidate]:
    """Stories matched to the topic since the subscription began and never promised to this subscriber."""
    floor = (sub.confirmed_at or sub.created_at) - first_window(sub.frequency)
    rows = deliveries.unpromised_matches(
        session=session, subscriber_id=sub.subscriber_id, topic_id=sub.topic_id, since=floor
    )
    return [Candidate(story, match) for story, match in rows]


def _update_candidates(session: Session, sub: Subscription) -> list[Candidate]:
    """Stories this subscriber was sent that have since changed substantively.

    The crawler stores a new version only for a substantive change (see
    ``crawler.dedup.is_substantive_change``), so a newer version than the one
    last sent (or last announced as an update) is worth a line.
    """
    rows = deliveries.changed_since_sent(
        session=session, subscriber_id=sub.subscriber_id, topic_id=sub.topic_id
    )
    if not rows:
        return []
    announced = deliveries.announced_versions(
        session=session,
        subscriber_id=sub.subscriber_id,
        story_ids=[story.id for story, _, _ in rows],
    )
    result = []
    for story, match, sent_version in rows:
        seen = max(sent_version, announced.get(story.id) or 0)
        if story.version > seen:
            result.append(Candidate(story, match, previous_title=_title_of(session, story, seen)))
    return result


def _title_of(session: Session, story: Story, version: int) -> str | None:
    if version >= story.version:
        return story.title
    return deliveries.version_title(session=session, story_id=story.id, version=version)


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
    tokens: Tokens,
    crawling: bool,
) -> bool:
    """Claim, send and settle one message; True when it went out and stories still wait."""
    claimed = _claim(
        factory,
        settings,
        subscription_id,
        period,
        now,
        dry_run,
        tokens=tokens,
        crawling=crawling,
        summary=summary,
    )
    if claimed is None:
        return False
    message = claimed.message
    if dry_run:
        summary.previews.append(message)
        return False
    digest_id = claimed.digest_id
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
        return False
    except UncertainDeliveryError as exc:
        _settle(factory, digest_id, DeliveryStatus.UNKNOWN, error=str(exc))
        summary.unknown += 1
        summary.errors.append(
            f"digest {digest_id} to {message.to} may or may not have left, not resent: {exc}"
        )
        return False
    except PermanentDeliveryError as exc:
        _settle(factory, digest_id, DeliveryStatus.FAILED, error=str(exc))
        summary.failed += 1
        summary.errors.append(f"digest {digest_id} to {message.to} failed: {exc}")
        return False
    _settle(
        factory,
        digest_id,
        DeliveryStatus.SENT,
        transport=result.transport,
        provider_id=result.provider_id or message.message_id,
    )
    summary.sent += 1
    summary.stories += claimed.stories
    summary.updates += claimed.updates
    return claimed.more > 0


def _claim(
    factory: sessionmaker[Session],
    settings: Settings,
    subscription_id: int,
    period: str,
    now: datetime,
    dry_run: bool,
    *,
    tokens: Tokens | None = None,
    crawling: bool = False,
    summary: DigestRunSummary | None = None,
) -> _Claimed | None:
    tokens = tokens or Tokens.from_settings(settings)
    session = factory()
    transaction = session.begin()
    try:
        sub = session.get(Subscription, subscription_id)
        if sub is None or not _may_receive(sub):
            transaction.rollback()
            return None
        new = _candidates(session, sub)
        updated = _update_candidates(session, sub) if sub.include_updates else []
        if not new and not updated:
            # Nothing new: no email, and the period counts as handled.
            if not dry_run and sub.frequency != Frequency.INSTANT:
                sub.last_digest_at = now
            transaction.commit()
            return None
        if sub.frequency == Frequency.INSTANT:
            waiting_since = _waiting_since(new, updated, now)
            batch = timedelta(minutes=settings.instant_batch_minutes)
            if crawling and now - waiting_since < batch:
                transaction.rollback()
                if summary is not None:
                    summary.held += 1
                return None
        content = _content(session, sub, new, updated, settings.digest_max_items)
        if sub.frequency == Frequency.INSTANT:
            period = _instant_key(sub, new, updated, content)
        if sub.subscriber.token is None:
            sub.subscriber.token = new_secret()
        digest = deliveries.add_digest(
            session=session,
            subscription_id=sub.id,
            period_key=period,
            status=DeliveryStatus.SENDING,
            now=now,
        )
        message = compose_digest(
            settings, sub, content, digest_id=digest.id, now=now, tokens=tokens
        )
        digest.subject = message.subject
        digest.message_id = message.message_id
        digest.transport = settings.effective_mail_transport
        deliveries.add_promises(
            session=session,
            digest=digest,
            subscriber_id=sub.subscriber_id,
            status=DeliveryStatus.SENDING,
            stories=[story for entry in content.new for story in entry.all_stories],
            updates=[story for entry in content.updated for story in entry.all_stories],
        )
        claimed = _Claimed(
            digest.id,
            message,
            stories=sum(len(e.all_stories) for e in content.new),
            updates=sum(len(e.all_stories) for e in content.updated),
            more=content.more,
        )
        if dry_run:
            transaction.rollback()
            return claimed
        sub.last_digest_at = now
        included = {story.id for story in content.stories}
        matched = [c.match.matched_at for c in new if c.story.id in included]
        if matched:
            sub.last_sent_through = max([*matched, *filter(None, [sub.last_sent_through])])
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


def _may_receive(sub: Subscription) -> bool:
    """Checked again inside the claim: an unsubscribe or a bounce may have just arrived."""
    return sub.active and sub.confirmed and sub.subscriber.suppressed_at is None


def _instant_key(
    sub: Subscription, new: list[Candidate], updated: list[Candidate], content: DigestContent
) -> str:
    """Named after the stories this message carries (when its oldest matched, its lowest
    id), so two schedulers racing for them collide while stories left for a later part
    or run never meet a key already taken."""
    included = {story.id for story in content.stories}
    carried = [c for c in [*new, *updated] if c.story.id in included]
    waiting_since = _waiting_since(
        [c for c in new if c.story.id in included],
        [c for c in updated if c.story.id in included],
        min(c.match.matched_at for c in carried),
    )
    local = waiting_since.astimezone(zone(sub.subscriber.timezone))
    first = min(included)
    kind = "I" if any(c.story.id in included for c in new) else "U"
    return f"{kind}{local:%Y%m%dT%H%M%S}-{first}"


def _waiting_since(new: list[Candidate], updated: list[Candidate], now: datetime) -> datetime:
    moments = [c.match.matched_at for c in new]
    moments += [c.story.updated_at or now for c in updated]
    return min(moments)


def _content(
    session: Session,
    sub: Subscription,
    new: list[Candidate],
    updated: list[Candidate],
    max_items: int,
) -> DigestContent:
    """The entries to send now: new ones first, at most ``max_items``; the rest wait."""
    ordering = sub.ordering
    coverage = Coverage.load(session, [*new, *updated])
    new_entries = build_entries(
        session, sub.topic, new, ordering=ordering, explain=max_items, coverage=coverage
    )
    updated_entries = build_entries(
        session,
        sub.topic,
        updated,
        ordering=ordering,
        updated=True,
        explain=max_items,
        coverage=coverage,
    )
    kept_new = new_entries[:max_items]
    kept_updated = updated_entries[: max(0, max_items - len(kept_new))]
    left = new_entries[len(kept_new) :] + updated_entries[len(kept_updated) :]
    return DigestContent(
        new=kept_new,
        updated=kept_updated,
        more=sum(len(entry.all_stories) for entry in left),
    )


def _settle(
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
        digest.status = status
        if transport:
            digest.transport = transport
        if provider_id:
            digest.message_id = provider_id
        if error is not None:
            digest.error = error[:2000]
        sent_at = None
        if status == DeliveryStatus.SENT:
            sent_at = digest.sent_at = now
        deliveries.set_promises(
            session=session, digest_id=digest_id, status=status, sent_at=sent_at
        )


def settle_digest(session: Session, digest_id: int, status: DeliveryStatus) -> bool:
    """Mark a digest and its deliveries (inside the caller's transaction); False if unknown id."""
    digest = session.get(Digest, digest_id)
    if digest is None:
        return False
    digest.status = status
    sent_at = None
    if status == DeliveryStatus.SENT:
        sent_at = digest.sent_at = digest.sent_at or datetime.now(UTC)
    deliveries.set_promises(session=session, digest_id=digest_id, status=status, sent_at=sent_at)
    return True


def _release(factory: sessionmaker[Session], digest_id: int, error: str) -> None:
    """The transport is away for now: free the stories for the next run."""
    with unit_of_work(factory) as session:
        _release_in(session, digest_id, f"deferred: {error}")


def _release_in(session: Session, digest_id: int, error: str) -> None:
    digest = session.get(Digest, digest_id)
    if digest is None:
        raise NotFoundError(f"no digest with id {digest_id}")
    digest.status = DeliveryStatus.FAILED
    digest.error = error[:2000]
    # Free the period so a later run in the same period may send.
    if "~" not in digest.period_key:
        digest.period_key = f"{digest.period_key}~{digest.id}"[:40]
    deliveries.set_promises(
        session=session, digest_id=digest_id, status=DeliveryStatus.PENDING, detach=True
    )
    sub = session.get(Subscription, digest.subscription_id)
    if sub is not None:
        sub.last_digest_at = None


def release_for_resend(factory: sessionmaker[Session], digest_id: int) -> Digest:
    """An operator decided an ``unknown`` or ``failed`` digest should go out again."""
    with unit_of_work(factory) as session:
        digest = session.get(Digest, digest_id)
        if digest is None:
            raise NotFoundError(f"no digest with id {digest_id}")
        if "~" in digest.period_key:
            raise ResendRefusedError(f"digest {digest_id} was already released; nothing to do")
        if digest.status not in (DeliveryStatus.UNKNOWN, DeliveryStatus.FAILED):
            raise ResendRefusedError(
                f"digest {digest_id} is {digest.status.value}; only unknown or failed "
                "digests can be sent again"
            )
        _release_in(session, digest_id, f"released for resending (was {digest.status.value})")
        session.flush()
        session.expunge(digest)
        return digest


def recover_interrupted(factory: sessionmaker[Session], sender: Sender, *, now: datetime) -> int:
    """Settle digests a killed process left in ``sending``; returns how many stay unknown."""
    unknown = 0
    with unit_of_work(factory) as session:
        stale = deliveries.stale_digests(
            session=session, status=DeliveryStatus.SENDING, before=now - STALE_SENDING
        )
        for digest in stale:
            # Only proof of sending changes the outcome: "not found" is no proof of
            # the opposite (an operator may have moved the outbox's files away).
            delivered = bool(digest.message_id and sender.was_delivered(digest.message_id))
            status = DeliveryStatus.SENT if delivered else DeliveryStatus.UNKNOWN
            digest.status = status
            if not delivered:
                unknown += 1
                digest.error = "process stopped while sending; not resent to avoid a duplicate"
            deliveries.set_promises(session=session, digest_id=digest.id, status=status)
    return unknown
