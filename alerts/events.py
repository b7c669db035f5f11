"""SendGrid's Event Webhook: bounces, spam reports and unsubscribes suppress addresses.

SendGrid signs each POST with ECDSA (P-256, SHA-256) over the timestamp
header followed by the raw body; the verification key is the base64 DER
public key shown in SendGrid's settings (``sendgrid_webhook_public_key``).
A request with no signature, a wrong one or a timestamp older than
``MAX_AGE`` is refused before its body is even parsed.

SendGrid retries callbacks and gives a retry a new ``sg_event_id``, so an
event is recognised by (message id, event, timestamp, address) instead:
handling the same event twice changes nothing.

What each event does:

* ``bounce`` (not ``blocked``), ``dropped``, ``spamreport``, ``unsubscribe``,
  ``group_unsubscribe``: the address is suppressed, so no digest is even
  composed for it again;
* ``processed``, ``delivered``: a digest whose fate was unknown (the process
  died, or the API's answer was lost) is settled as sent, using the
  ``digest_id`` custom argument every message carries.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import ConfigError, WirewatchError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from db import deliveries, queries
from sqlalchemy.orm import Session

from alerts import ledger

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE = 600
SUPPRESSING = frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"})
SETTLING = frozenset({"processed", "delivered"})


class EventAuthError(WirewatchError):
    """The request is not provably from SendGrid; ``status`` is the HTTP answer to give."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class EventPayloadError(WirewatchError):
    """The signed body is not a JSON array of event objects."""


def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's key as shown in its settings (base64 DER), or as PEM."""
    text = value.strip()
    try:
        key = (
            load_pem_public_key(text.encode())
            if text.startswith("-----BEGIN")
            else load_der_public_key(base64.b64decode(text, validate=True))
        )
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(
            "WIREWATCH_SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key: paste the "
            "verification key from SendGrid's Event Webhook settings"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("WIREWATCH_SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA key")
    return key


def verify_request(
    key: ec.EllipticCurvePublicKey,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float | None = None,
) -> None:
    """Raise `EventAuthError` (401 when unsigned, 403 when wrong or stale)."""
    if not signature or not timestamp:
        raise EventAuthError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}", 401)
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise EventAuthError(f"{TIMESTAMP_HEADER} is not a Unix time", 403) from exc
    current = time.time() if now is None else now
    if abs(current - sent) > MAX_AGE:
        raise EventAuthError(f"{TIMESTAMP_HEADER} is more than {MAX_AGE} s off; replay?", 403)
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise EventAuthError("the signature does not match this body", 403) from exc


def parse_events(body: bytes) -> list[dict[str, Any]]:
    try:
        events = json.loads(body)
    except ValueError as exc:
        raise EventPayloadError("the body is not JSON") from exc
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise EventPayloadError("the body is not a JSON array of event objects")
    return events


@dataclass
class EventSummary:
    received: int = 0
    recorded: int = 0
    duplicates: int = 0
    suppressed: int = 0
    settled: int = 0
    ignored: int = 0


def handle_events(session: Session, events: list[dict[str, Any]]) -> EventSummary:
    """Apply a verified batch of events inside the caller's transaction."""
    summary = EventSummary(received=len(events))
    for event in events:
        name = str(event.get("event") or "")
        email = str(event.get("email") or "").strip().lower()
        try:
            timestamp = int(event.get("timestamp") or 0)
        except (TypeError, ValueError):
            timestamp = 0
        acts = name in SETTLING or (name in SUPPRESSING and event.get("type") != "blocked")
        if not acts or not email:
            summary.ignored += 1
            continue
        digest_id = _digest_id(event)
        reason = str(event.get("reason") or event.get("response") or "")[:2000] or None
        if not _record(session, event, name, email, timestamp, digest_id, reason):
            summary.duplicates += 1
            continue
        summary.recorded += 1
        if name in SUPPRESSING:
            label = f"{name}: {reason}" if reason else name
            if queries.suppress_address(session=session, email=email, reason=label, when=_now()):
                summary.suppressed += 1
        elif digest_id is not None and ledger.confirm_sent(session, digest_id):
            summary.settled += 1
    return summary


def _digest_id(event: dict[str, Any]) -> int | None:
    try:
        return int(event["digest_id"])
    except (KeyError, TypeError, ValueError):
        return None


def _record(
    session: Session,
    event: dict[str, Any],
    name: str,
    email: str,
    timestamp: int,
    digest_id: int | None,
    reason: str | None,
) -> bool:
    """Insert the event unless it is known; True when it is new."""
    return deliveries.record_mail_event(
        session=session,
        message_id=str(event.get("sg_message_id") or event.get("smtp-id") or "")[:200],
        event=name[:32],
        timestamp=timestamp,
        email=email[:320],
        digest_id=digest_id,
        reason=reason,
        received_at=_now(),
    )


def _now() -> datetime:
    return datetime.now(UTC)
