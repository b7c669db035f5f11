"""Telling the operator when sources fail or fall silent: by email, webhook, or both.

After every scheduled crawl (and on ``wirewatch sources alert``) the sources
are read (``alerts.sourcehealth``) and every *new incident* is reported in one
message: a source paused for failing too long, failing `ALERT_AFTER_FAILURES`
times in a row, or silent for longer than usual for it. Each incident is
reported once: the source's ``alerted_at`` is set when the message went out,
and cleared when the incident ends (a success after failures, a new story
after silence) or a new failure starts one.

The email goes through the configured transport (outbox, SMTP or SendGrid)
to ``WIREWATCH_OPERATOR_EMAIL``; the webhook is a JSON POST to
``WIREWATCH_OPERATOR_WEBHOOK_URL`` through the guarded client. Neither set:
nothing is sent.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from core.errors import DeliveryError
from core.netguard import AddressPolicy, guarded_client
from core.settings import Settings
from db import sources as source_writes
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker

from alerts.senders import OutgoingMessage, Sender, new_message_id, send_with_retry
from alerts.sourcehealth import SourceRow, source_rows

ALERT_AFTER_FAILURES = 3


@dataclass
class AlertReport:
    """What was reported (source names), how, and what went wrong."""

    reported: list[str] = field(default_factory=list)
    emailed: bool = False
    posted: bool = False
    errors: list[str] = field(default_factory=list)


def new_incidents(rows: list[SourceRow]) -> list[SourceRow]:
    """Sources with an incident not reported yet."""
    return [
        r
        for r in rows
        if r.source.enabled
        and r.source.alerted_at is None
        and (
            r.status in ("paused", "silent")
            or (r.status == "failing" and r.source.error_count >= ALERT_AFTER_FAILURES)
        )
    ]


def alert_operator(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: Sender | None,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> AlertReport:
    """Report every new incident once; with ``dry_run`` only say which would be reported."""
    now = now or datetime.now(UTC)
    report = AlertReport()
    with unit_of_work(factory) as session:
        incidents = new_incidents(source_rows(session, now=now))
        report.reported = [r.source.name for r in incidents]
        if not incidents or dry_run:
            return report
        if not settings.operator_email and not settings.operator_webhook_url:
            report.errors.append(
                "no operator to tell: set WIREWATCH_OPERATOR_EMAIL or "
                "WIREWATCH_OPERATOR_WEBHOOK_URL"
            )
            return report
        if settings.operator_email and sender is not None:
            try:
                send_with_retry(
                    sender,
                    _email(settings, incidents),
                    max_attempts=settings.send_max_attempts,
                    backoff_max=settings.send_backoff_max_seconds,
                )
                report.emailed = True
            except DeliveryError as exc:
                report.errors.append(f"operator email not sent: {exc}")
        if settings.operator_webhook_url:
            try:
                _post(settings, incidents, now)
                report.posted = True
            except (httpx.HTTPError, OSError, DeliveryError) as exc:
                report.errors.append(f"operator webhook not delivered: {exc}")
        if report.emailed or report.posted:
            source_writes.mark_alerted(
                session=session, source_ids=[r.source.id for r in incidents], when=now
            )
        else:
            report.reported = []
    return report


def _line(row: SourceRow) -> str:
    return f"{row.source.name} ({row.source.kind.value}, {row.status}): {row.problem}"


def _email(settings: Settings, incidents: list[SourceRow]) -> OutgoingMessage:
    noun = "source needs" if len(incidents) == 1 else "sources need"
    lines = [_line(r) for r in incidents]
    base = settings.base_url.rstrip("/")
    text = (
        f"{len(incidents)} {noun} attention:\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\n\nAll failing sources: {base}/sources?failing=1\n"
        "Each incident is reported once; you hear again when a source fails anew.\n"
    )
    items = "".join(f"<li>{_escape(line)}</li>" for line in lines)
    html = (
        f"<p>{len(incidents)} {noun} attention:</p><ul>{items}</ul>"
        f'<p><a href="{_escape(base)}/sources?failing=1">All failing sources</a></p>'
    )
    return OutgoingMessage(
        to=settings.operator_email or "",
        from_addr=settings.mail_from,
        subject=f"wirewatch: {len(incidents)} {noun} attention"[:200],
        text=text,
        html=html,
        headers={"Auto-Submitted": "auto-generated"},
        message_id=new_message_id(settings.mail_from),
        categories=("operator",),
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _post(settings: Settings, incidents: list[SourceRow], now: datetime) -> None:
    body = json.dumps(
        {
            "event": "sources.incident",
            "at": now.isoformat(),
            "sources": [
                {
                    "name": r.source.name,
                    "kind": r.source.kind.value,
                    "url": r.source.url,
                    "status": r.status,
                    "failure": r.source.failure_kind,
                    "problem": r.problem,
                }
                for r in incidents
            ],
        },
        ensure_ascii=False,
    ).encode()
    budget = settings.webhook_timeout_seconds
    with guarded_client(
        AddressPolicy.from_settings(settings),
        timeout=budget,
        deadline=time.monotonic() + budget,
    ) as client:
        answer = client.post(
            settings.operator_webhook_url or "",
            content=body,
            headers={"Content-Type": "application/json"},
        )
    if answer.status_code >= 300:
        raise DeliveryError(f"the webhook answered HTTP {answer.status_code}")
