"""A topic's new stories as signed JSON POSTs, for chat tools and scripts.

Each POST carries a batch of stories and three headers:

    X-Wirewatch-Event:     stories
    X-Wirewatch-Delivery:  the batch id (the same on every retry of that batch)
    X-Wirewatch-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>

The receiver recomputes the HMAC with the webhook's secret, compares in
constant time, refuses old timestamps (replays), and ignores a delivery id it
has already handled. Unlike email, a webhook can be retried safely because of
that id, so a lost answer or a crash mid-POST is simply retried: receivers
that skip known ids see every batch exactly once.

The body has a ``text`` field, so chat tools' incoming webhooks (Slack,
Mattermost, Rocket.Chat) show a readable message without any glue.

Webhooks are added by the operator (CLI), never by the public; still, a URL
that resolves to a non-public address is refused unless it is listed in
``allow_private_hosts``, so a webhook cannot be aimed at internal services.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from core.errors import BlockedURLError, ConfigError, NotFoundError, WirewatchError
from core.netguard import AddressPolicy, check_scheme_only, guarded_client
from core.settings import Settings
from db import deliveries, queries
from db.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)
from sqlalchemy.orm import Session, sessionmaker

from alerts import ledger
from alerts.compose import Candidate, Coverage, build_entries, subject_for

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Wirewatch-Signature"
DELIVERY_HEADER = "X-Wirewatch-Delivery"
EVENT_HEADER = "X-Wirewatch-Event"
SIGNATURE_TOLERANCE = 300
# At most this much of a receiver's answer is read (its status is what counts; the
# body only explains a refusal), raw: it is never decompressed, so a small gzip
# "bomb" cannot inflate into gigabytes.
ANSWER_CAP = 64 * 1024
FIRST_WINDOW = timedelta(days=1)


class WebhookSignatureError(WirewatchError):
    """A webhook request's signature is missing, malformed, stale or wrong."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Wirewatch-Signature`` value for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> None:
    """What a receiver does (also in docs/digests.md); raises on any mismatch."""
    if not header:
        raise WebhookSignatureError(f"no {SIGNATURE_HEADER} header")
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError) as exc:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} has no valid t=") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError("signature timestamp is too old or in the future")
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    if not hmac.compare_digest(expected, fields.get("v1", "")):
        raise WebhookSignatureError("signature does not match the body")


# -- managing webhooks --------------------------------------------------------------------


def add_webhook(session: Session, settings: Settings, *, topic_slug: str, url: str) -> Webhook:
    """A new webhook for a topic, with a fresh secret to give to the receiver."""
    check_url(url)
    topic = queries.get_topic(session=session, slug=topic_slug)
    webhook = Webhook(topic_id=topic.id, url=url, secret=secrets.token_urlsafe(32), active=True)
    session.add(webhook)
    session.flush()
    return webhook


def remove_webhook(session: Session, webhook_id: int) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFoundError(f"no webhook with id {webhook_id} (see `wirewatch webhooks list`)")
    webhook.active = False
    return webhook


def list_webhooks(session: Session) -> list[Webhook]:
    return deliveries.list_webhooks(session=session)


def check_url(url: str) -> None:
    """An absolute http(s) URL (where it points is vetted at delivery, by the address policy)."""
    try:
        check_scheme_only(url)
    except BlockedURLError as exc:
        raise ConfigError(
            f"webhook URL {url!r} must be an absolute http:// or https:// URL: {exc.reason}"
        ) from None


# -- delivering -----------------------------------------------------------------------------


@dataclass
class WebhookRunSummary:
    posted: int = 0
    stories: int = 0
    deferred: int = 0
    failed: int = 0
    held: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Batch:
    webhook_id: int
    url: str
    secret: str
    batch_id: str
    body: bytes
    stories: int


def deliver_webhooks(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    crawling: bool = False,
    client: httpx.Client | None = None,
) -> WebhookRunSummary:
    """POST each active webhook's new stories, at most one batch per webhook per run.

    Each POST has ``webhook_timeout_seconds`` in all, so a slow receiver costs the
    run at most that much; its batch is released and posted again next run.
    """
    now = now or datetime.now(UTC)
    summary = WebhookRunSummary()
    with factory() as session:
        ids = deliveries.active_webhook_ids(session=session)
    for webhook_id in ids:
        batch = _claim(factory, settings, webhook_id, now, crawling, summary)
        if batch is not None:
            _post(factory, settings, client, batch, summary)
    return summary


def _client(settings: Settings) -> httpx.Client:
    """A client for one POST, with one deadline for all of it.

    httpx's own timeouts apply to each socket wait, so a receiver that sends a byte
    every few seconds would hold us for ever; the guarded client's deadline clamps
    every wait to what is left of the request's budget. The guarded client also vets
    the addresses it connects to, so a receiver's name that later resolves to an
    internal address (DNS rebinding) is still refused.
    """
    budget = settings.webhook_timeout_seconds
    return guarded_client(
        AddressPolicy.from_settings(settings),
        timeout=budget,
        deadline=time.monotonic() + budget,
    )


def _claim(
    factory: sessionmaker[Session],
    settings: Settings,
    webhook_id: int,
    now: datetime,
    crawling: bool,
    summary: WebhookRunSummary,
) -> _Batch | None:
    """Claim the webhook's next batch: an unfinished one first, else its new stories."""

    def steps(claim: ledger.Claim) -> _Batch | None:
        session = claim.session
        webhook = session.get(Webhook, webhook_id)
        if webhook is None or not webhook.active:
            return None
        rows = ledger.unfinished_batch(session, webhook.id, now)
        if not rows:
            candidates = _candidates(session, webhook)
            if not candidates:
                return None
            waiting_since = min(c.match.matched_at for c in candidates)
            if ledger.hold_for_crawl(
                settings, crawling=crawling, waiting_since=waiting_since, now=now
            ):
                summary.held += 1
                return None
            stories = [c.story for c in candidates[: settings.digest_max_items]]
            rows = ledger.record_batch(session, webhook.id, stories, now=now)
        ledger.start_attempt(rows)
        session.flush()
        batch_id = rows[0].batch_id
        body = _payload(session, settings, webhook, rows, batch_id, now)
        claim.keep()
        return _Batch(webhook.id, webhook.url, webhook.secret, batch_id, body, len(rows))

    return ledger.claim(factory, steps, what=f"batch for webhook {webhook_id}")


def _candidates(session: Session, webhook: Webhook) -> list[Candidate]:
    """Matched stories this webhook has not had, or has had in an older version."""
    seen = deliveries.webhook_versions(session=session, webhook_id=webhook.id)
    rows = deliveries.matches_since(
        session=session, topic_id=webhook.topic_id, since=webhook.created_at - FIRST_WINDOW
    )
    return [
        Candidate(story, match)
        for story, match in rows
        if story.id not in seen or story.version > seen[story.id]
    ]


def _payload(
    session: Session,
    settings: Settings,
    webhook: Webhook,
    rows: list[WebhookDelivery],
    batch_id: str,
    now: datetime,
) -> bytes:
    base = settings.base_url.rstrip("/")
    versions = {row.story_id: row.story_version for row in rows}
    pairs = deliveries.matches_of(session=session, topic_id=webhook.topic_id, story_ids=versions)
    earlier = deliveries.stories_in_other_batches(
        session=session, webhook_id=webhook.id, story_ids=versions, batch_id=batch_id
    )
    fresh = [Candidate(s, m) for s, m in pairs if s.id not in earlier]
    changed = [Candidate(s, m) for s, m in pairs if s.id in earlier]
    coverage = Coverage.load(session, [*fresh, *changed])
    entries = build_entries(session, webhook.topic, fresh, coverage=coverage)
    entries += build_entries(session, webhook.topic, changed, updated=True, coverage=coverage)
    stories: list[dict[str, Any]] = []
    for entry in entries:
        story = entry.story
        stories.append(
            {
                "id": story.id,
                "title": story.title,
                "url": entry.safe_url,
                "archive_url": f"{base}/stories/{story.id}",
                "source": entry.source_name,
                "language": story.language,
                "published_at": entry.when.isoformat(),
                "why": entry.why,
                "snippet": entry.snippet,
                "also_reported_by": entry.also_outlets,
                # The event (GET /api/events/{id}) and its other outlets' reports,
                # as the JSON API and the exports carry them.
                "event": story.event_id,
                "event_reports": [
                    {"source": outlet, "language": language, "url": url}
                    for outlet, language, url in entry.also_links
                ],
                "updated": entry.updated,
                "version": story.version,
            }
        )
    new_count = sum(1 for e in entries if not e.updated)
    headline = subject_for(new_count, webhook.topic.name, len(entries) - new_count)
    lines = [headline] + [
        f"• {s['title']} — {s['source']}" + (f" {s['url']}" if s["url"] else "") for s in stories
    ]
    payload = {
        "id": batch_id,
        "type": "stories",
        "topic": {"slug": webhook.topic.slug, "name": webhook.topic.name},
        "sent_at": now.isoformat(),
        "text": "\n".join(lines),
        "stories": stories,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def _post(
    factory: sessionmaker[Session],
    settings: Settings,
    client: httpx.Client | None,
    batch: _Batch,
    summary: WebhookRunSummary,
) -> None:
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": settings.user_agent,
        # We read the answer raw and capped: ask for it uncompressed.
        "Accept-Encoding": "identity",
        EVENT_HEADER: "stories",
        DELIVERY_HEADER: batch.batch_id,
        SIGNATURE_HEADER: sign(batch.secret, timestamp, batch.body),
    }
    outcome: DeliveryStatus
    try:
        status, answer = _send(client or _client(settings), batch, headers, own=client is None)
    except BlockedURLError as exc:
        outcome, error = DeliveryStatus.FAILED, f"webhook URL refused: {exc.reason}"
    except httpx.TimeoutException as exc:
        # Safe to retry even if it arrived: the receiver sees the same delivery id.
        outcome = DeliveryStatus.PENDING
        error = (
            f"{type(exc).__name__}: no complete answer within "
            f"{settings.webhook_timeout_seconds:g} s"
        )
    except httpx.HTTPError as exc:
        outcome, error = DeliveryStatus.PENDING, f"{type(exc).__name__}: {exc}"
    else:
        if 200 <= status < 300:
            outcome, error = DeliveryStatus.SENT, ""
        elif status in (408, 429) or status >= 500:
            outcome, error = DeliveryStatus.PENDING, f"HTTP {status}"
        else:
            outcome, error = DeliveryStatus.FAILED, f"HTTP {status}: {answer[:200]}"
    ledger.settle_batch(factory, batch.webhook_id, batch.batch_id, outcome, error)
    if outcome == DeliveryStatus.SENT:
        summary.posted += 1
        summary.stories += batch.stories
        return
    if outcome == DeliveryStatus.PENDING:
        summary.deferred += 1
    else:
        summary.failed += 1
    summary.errors.append(f"webhook {batch.webhook_id} ({batch.url}): {error}")
    log.warning("webhook %s delivery %s: %s", batch.webhook_id, batch.batch_id, error)


def _send(
    http: httpx.Client, batch: _Batch, headers: dict[str, str], *, own: bool
) -> tuple[int, str]:
    """POST the batch; the status and at most ``ANSWER_CAP`` bytes of the raw answer.

    The answer is read as sent (never decompressed) and the connection is closed
    once the cap is reached, whatever the receiver still had to say.
    """
    try:
        with http.stream("POST", batch.url, content=batch.body, headers=headers) as response:
            raw = bytearray()
            for chunk in response.iter_raw(16 * 1024):
                raw += chunk[: ANSWER_CAP - len(raw)]
                if len(raw) >= ANSWER_CAP:
                    break
            encoded = response.headers.get("content-encoding", "identity").lower()
            if encoded in ("", "identity"):
                return response.status_code, raw.decode("utf-8", "replace")
            return response.status_code, f"({encoded} answer not shown)"
    finally:
        if own:
            http.close()
