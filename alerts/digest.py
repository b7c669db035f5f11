"""Send due digests, each story to each subscriber at most once.

Each subscription that is due gets one message (or as many "parts" as its
stories need), claimed, sent and settled by the rules of ``alerts.ledger``:
claimed in one transaction, sent outside any, settled as sent, failed,
unknown or released for the next run. A process killed mid-send leaves its
digest ``sending``; a later run recovers it as ``unknown`` (or ``sent`` when
the sender can prove it) and sends the rest.

Claiming a message is a sequence of named steps (see ``_claim``): load the
subscription, gather the candidate stories, hold an instant digest for the
crawl in progress, build the content, record the digest and its deliveries.

A digest holds at most ``digest_max_items`` entries and is at most
``digest_max_bytes`` on the wire; what does not fit goes out in further
messages of the same run ("parts"), so a flood is never left behind. The
first part of a weekly digest also carries the topic's stories-per-day chart
(``alerts.digestchart``), counted in that size; when the message would not fit
with it, the chart is left out rather than any entry. An instant digest's
period is named after the stories it carries, not
after those still waiting: two schedulers racing for the same stories collide,
and a message that leaves stories for the next part never blocks it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from core.errors import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
    UncertainDeliveryError,
)
from core.lexicon import default_lexicon
from core.settings import Settings
from db import deliveries, events
from db.models import DeliveryStatus, Frequency, Story, Subscription
from sqlalchemy.orm import Session, sessionmaker

from alerts import ledger
from alerts.compose import Candidate, Coverage, DigestContent, build_entries, compose_digest
from alerts.digestchart import DigestChart, digest_chart
from alerts.matching import match_all_pending
from alerts.schedule import due_period, first_window, zone
from alerts.senders import OutgoingMessage, Sender, send_with_retry
from alerts.senders.mime import wire_size
from alerts.tokens import Tokens, new_secret
from alerts.webhooks import WebhookRunSummary, deliver_webhooks

log = logging.getLogger(__name__)


@dataclass
class DigestRunSummary:
    considered: int = 0
    sent: int = 0
    # Entries the sent messages list (one per event), and the stories they carry.
    entries: int = 0
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

    def listing(self) -> str:
        """What the sent messages list, counted as the messages count it.

        A message lists one entry per story (an event's reports from other outlets
        and languages ride along under it), and its subject says "N new stories"
        with N the entries: the summary counts the same way.
        """
        extra = self.stories - self.entries
        noun = "story" if self.entries == 1 else "stories"
        return f"{self.entries} {noun}" + (
            f", with {extra} more reports of them" if extra > 0 else ""
        )


@dataclass(frozen=True)
class _Claimed:
    digest_id: int
    message: OutgoingMessage
    stories: int
    updates: int
    more: int
    entries: int = 0


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
        ledger.watch_acceptance(factory, sender)
        summary.unknown = ledger.recover_interrupted(factory, sender, now=now)
    with factory() as session:
        crawling = ledger.crawl_in_progress(session)
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


def _first_part(key: str) -> bool:
    """Whether ``key`` (from `_part_key`) names the first message of its period."""
    return "+" not in key


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
        ledger.release(factory, digest_id, str(exc))
        summary.deferred += 1
        raise
    except TemporaryDeliveryError as exc:
        ledger.release(factory, digest_id, str(exc))
        summary.deferred += 1
        summary.errors.append(f"digest {digest_id} to {message.to} deferred: {exc}")
        return False
    except UncertainDeliveryError as exc:
        ledger.settle(factory, digest_id, DeliveryStatus.UNKNOWN, error=str(exc))
        summary.unknown += 1
        summary.errors.append(
            f"digest {digest_id} to {message.to} may or may not have left, not resent: {exc}"
        )
        return False
    except PermanentDeliveryError as exc:
        ledger.settle(factory, digest_id, DeliveryStatus.FAILED, error=str(exc))
        summary.failed += 1
        summary.errors.append(f"digest {digest_id} to {message.to} failed: {exc}")
        return False
    ledger.settle(
        factory,
        digest_id,
        DeliveryStatus.SENT,
        transport=result.transport,
        provider_id=result.provider_id or message.message_id,
    )
    summary.sent += 1
    summary.stories += claimed.stories
    summary.updates += claimed.updates
    summary.entries += claimed.entries
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
    """Claim the subscription's next message for ``period``, in one transaction.

    None when there is nothing to send now (nothing new, held for a crawl,
    the subscription gone) or another process claimed it first. A dry run
    composes the message and writes nothing.
    """
    tokens = tokens or Tokens.from_settings(settings)

    def steps(claim: ledger.Claim) -> _Claimed | None:
        session = claim.session
        sub = _load_subscription(session, subscription_id)
        if sub is None:
            return None
        new, updated = _gather_candidates(session, sub)
        if not new and not updated:
            if not dry_run:
                _period_handled(sub, now)
                claim.keep()
            return None
        if _hold(settings, sub, new, updated, now=now, crawling=crawling):
            if summary is not None:
                summary.held += 1
            return None
        content = _content(session, sub, new, updated, settings.digest_max_items)
        # Once per period: the further parts of a flood would repeat the same picture.
        chart = digest_chart(session, settings, sub, now) if _first_part(period) else None
        content, chart = _fit(settings, sub, content, now, tokens, chart)
        claimed = _record(session, settings, sub, period, new, updated, content, now, tokens, chart)
        if not dry_run:
            _advance_watermarks(sub, new, content, now)
            claim.keep()
        return claimed

    what = f"digest for subscription {subscription_id} period {period}"
    return ledger.claim(factory, steps, what=what)


def _load_subscription(session: Session, subscription_id: int) -> Subscription | None:
    """The subscription, if it may still receive mail: an unsubscribe or a bounce may
    have arrived since the run began."""
    sub = session.get(Subscription, subscription_id)
    return sub if sub is not None and _may_receive(sub) else None


def _may_receive(sub: Subscription) -> bool:
    return sub.active and sub.confirmed and sub.subscriber.suppressed_at is None


def _gather_candidates(
    session: Session, sub: Subscription
) -> tuple[list[Candidate], list[Candidate]]:
    """New stories for the subscriber, and updates of stories sent (when wanted).

    A new report of an event the subscriber already had is not news: it is
    recorded as covered by the delivery that carried the event, and left out,
    unless it reports a development (see ``events_already_sent``).
    """
    new = updates_of_sent_events(
        session, sub, events_already_sent(session, sub, _candidates(session, sub))
    )
    updated = _update_candidates(session, sub) if sub.include_updates else []
    return new, updated


def events_already_sent(
    session: Session, sub: Subscription, candidates: list[Candidate]
) -> list[Candidate]:
    """The candidates to show: those of events not yet sent, and developments of sent ones.

    A development is a report that names an act the reports already sent did
    not (an agreement now ratified, an office now opened): it is shown, marked
    as an update of the headline the subscriber saw. Other reports of a sent
    event are promised silently with the delivery that carried it.
    """
    event_ids = {c.story.event_id for c in candidates if c.story.event_id is not None}
    if not event_ids:
        return candidates
    sent = deliveries.events_sent(
        session=session, subscriber_id=sub.subscriber_id, event_ids=event_ids
    )
    if not sent:
        return candidates
    late = [c for c in candidates if c.story.event_id in sent]
    concepts = events.signature_concepts(
        session=session,
        story_ids=[c.story.id for c in late] + [story.id for _, story in sent.values()],
    )
    keep = [c for c in candidates if c.story.event_id not in sent]
    covered: dict[int, list[Story]] = {}
    for candidate in late:
        event_id = candidate.story.event_id
        assert event_id is not None
        earlier = sent[event_id][1]
        new_acts = _acts(concepts.get(candidate.story.id, set())) - _acts(
            concepts.get(earlier.id, set())
        )
        if new_acts:
            keep.append(replace(candidate, development_of=earlier.title))
        else:
            covered.setdefault(event_id, []).append(candidate.story)
    for event_id, stories in covered.items():
        deliveries.add_covered(
            session=session,
            subscriber_id=sub.subscriber_id,
            stories=stories,
            by=sent[event_id][0],
        )
    return keep


def updates_of_sent_events(
    session: Session, sub: Subscription, candidates: list[Candidate]
) -> list[Candidate]:
    """Candidates whose event develops an event the subscriber was sent (a later step:
    signed, then ratified), marked as an update of the headline the subscriber saw."""
    event_ids = {
        c.story.event_id
        for c in candidates
        if c.story.event_id is not None and c.development_of is None
    }
    follows = events.follows_of(session=session, event_ids=event_ids)
    if not follows:
        return candidates
    sent = deliveries.events_sent(
        session=session, subscriber_id=sub.subscriber_id, event_ids=set(follows.values())
    )
    if not sent:
        return candidates
    marked = []
    for candidate in candidates:
        earlier = follows.get(candidate.story.event_id or 0)
        if earlier in sent and candidate.development_of is None:
            candidate = replace(candidate, update_to=sent[earlier][1].title)
        marked.append(candidate)
    return marked


def _acts(concepts: set[str]) -> set[str]:
    lexicon = default_lexicon()
    return {c for c in concepts if c in lexicon.concepts and lexicon.kind(c) == "action"}


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


def _period_handled(sub: Subscription, now: datetime) -> None:
    """Nothing new: no email, and a scheduled period counts as handled."""
    if sub.frequency != Frequency.INSTANT:
        sub.last_digest_at = now


def _hold(
    settings: Settings,
    sub: Subscription,
    new: list[Candidate],
    updated: list[Candidate],
    *,
    now: datetime,
    crawling: bool,
) -> bool:
    """An instant digest waits for the crawl in progress (within the ledger's bound)."""
    if sub.frequency != Frequency.INSTANT:
        return False
    waiting_since = _waiting_since(new, updated, now)
    return ledger.hold_for_crawl(settings, crawling=crawling, waiting_since=waiting_since, now=now)


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


def _fit(
    settings: Settings,
    sub: Subscription,
    content: DigestContent,
    now: datetime,
    tokens: Tokens,
    chart: DigestChart | None = None,
) -> tuple[DigestContent, DigestChart | None]:
    """The leading entries whose message stays within ``digest_max_bytes``; the rest wait.

    Entries left out count as "more", so the run sends them in its next part:
    none is dropped, and none is recorded as sent before it is in a message.
    One entry always goes (stored fields are bounded, see ``core.limits``, so one
    entry is far below the smallest allowed cap). The footer chart is measured
    with the rest; when the message is over the cap with it, the chart goes
    first (it is a picture of the figures, the entries are the news).
    """
    if sub.subscriber.token is None:
        sub.subscriber.token = new_secret()  # measured with the links the message will carry
    cap = settings.digest_max_bytes
    if chart is not None:
        if _size(settings, sub, content, now, tokens, chart) <= cap:
            return content, chart
        log.info(
            "digest for subscription %s leaves out its chart to stay within %d bytes",
            sub.id,
            cap,
        )
    size = _size(settings, sub, content, now, tokens)
    while size > cap and len(content.entries) > 1:
        total = len(content.entries)
        keep = max(1, min(total - 1, int(total * cap / size * 0.95)))
        content = _first_entries(content, keep)
        size = _size(settings, sub, content, now, tokens)
    if size > cap:
        log.warning(
            "digest for subscription %s is %d bytes with one entry, over the %d-byte cap",
            sub.id,
            size,
            cap,
        )
    return content, None


def _size(
    settings: Settings,
    sub: Subscription,
    content: DigestContent,
    now: datetime,
    tokens: Tokens,
    chart: DigestChart | None = None,
) -> int:
    # The digest id is not known before the digest is recorded; a wide stand-in
    # keeps the measured size an upper bound of the real one.
    draft = compose_digest(
        settings, sub, content, digest_id=2**62, now=now, tokens=tokens, chart=chart
    )
    return wire_size(draft)


def _first_entries(content: DigestContent, keep: int) -> DigestContent:
    """The first ``keep`` entries (new ones first); the stories of the others wait."""
    new = content.new[:keep]
    updated = content.updated[: keep - len(new)]
    left = content.new[len(new) :] + content.updated[len(updated) :]
    return DigestContent(
        new=new,
        updated=updated,
        more=content.more + sum(len(entry.all_stories) for entry in left),
    )


def _record(
    session: Session,
    settings: Settings,
    sub: Subscription,
    period: str,
    new: list[Candidate],
    updated: list[Candidate],
    content: DigestContent,
    now: datetime,
    tokens: Tokens,
    chart: DigestChart | None = None,
) -> _Claimed:
    """The digest and its deliveries in the ledger, and the message that carries them."""
    if sub.frequency == Frequency.INSTANT:
        period = _instant_key(sub, new, updated, content)
    if sub.subscriber.token is None:
        sub.subscriber.token = new_secret()  # the preferences link needs one
    digest = ledger.record_digest(
        session,
        sub,
        period,
        stories=[story for entry in content.new for story in entry.all_stories],
        updates=[story for entry in content.updated for story in entry.all_stories],
        now=now,
    )
    message = compose_digest(
        settings, sub, content, digest_id=digest.id, now=now, tokens=tokens, chart=chart
    )
    ledger.address(digest, message, transport=settings.effective_mail_transport)
    return _Claimed(
        digest.id,
        message,
        stories=sum(len(e.all_stories) for e in content.new),
        updates=sum(len(e.all_stories) for e in content.updated),
        more=content.more,
        entries=len(content.entries),
    )


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


def _advance_watermarks(
    sub: Subscription, new: list[Candidate], content: DigestContent, now: datetime
) -> None:
    """The period is handled, and the stories sent mark how far the subscription got."""
    sub.last_digest_at = now
    included = {story.id for story in content.stories}
    matched = [c.match.matched_at for c in new if c.story.id in included]
    if matched:
        sub.last_sent_through = max([*matched, *filter(None, [sub.last_sent_through])])
