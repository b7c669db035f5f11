"""``POST /events/sendgrid``: SendGrid's signed Event Webhook (bounces, drops, spam reports).

Refused unless its verification key is configured; the signature is checked
before the body is read as events, and the events are recorded in the
request's one unit of work (``alerts.events``).
"""

from __future__ import annotations

import logging
from typing import Annotated

from alerts.events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EventAuthError,
    EventPayloadError,
    handle_events,
    load_public_key,
    parse_events,
    verify_request,
)
from core.errors import ConfigError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from web.deps import SettingsDep, UnitOfWorkDep

log = logging.getLogger(__name__)
router = APIRouter()


async def _raw_body(request: Request) -> bytes:
    """The body exactly as sent: the signature covers these bytes."""
    return await request.body()


@router.post("/events/sendgrid", include_in_schema=False)
def sendgrid_events(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    session: UnitOfWorkDep,
    settings: SettingsDep,
) -> JSONResponse:
    """SendGrid's signed Event Webhook; refused unless its verification key is configured."""
    if not settings.sendgrid_webhook_public_key:
        return JSONResponse(
            {"detail": "the SendGrid event webhook is not configured here"}, status_code=404
        )
    try:
        key = load_public_key(settings.sendgrid_webhook_public_key)
        verify_request(
            key,
            body,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
        )
        events = parse_events(body)
    except EventAuthError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    except EventPayloadError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    except ConfigError as exc:
        log.error("SendGrid event webhook: %s", exc)
        return JSONResponse({"detail": "the event webhook is misconfigured"}, status_code=500)
    summary = handle_events(session, events)
    return JSONResponse(dict(vars(summary)))
