"""Delivery through SendGrid's v3 Mail Send API, using the official client.

The request body is built by hand rather than with the ``Mail`` helper so that
every field is visible here: custom arguments go on the personalization (they
come back on every event-webhook callback, which is how a bounce is tied to its
digest), our Message-ID and list headers go in ``headers``, and pictures the
HTML shows by ``cid:`` go in ``attachments`` as ``inline`` with their
``content_id`` (SendGrid then builds the multipart/related for us).

Status handling follows the API's documentation: 202 accepted, 200 in sandbox
mode (checked, not sent), 429 rate limited (wait as the headers say), 5xx try
later, 401/403 the key is wrong or lacks the Mail Send scope (stop everything),
any other 4xx the body is wrong (the API says why in ``errors[].message``).
A request that could not be sent is retried; one whose answer was lost is
reported as uncertain, since the API has no idempotency key to retry with.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any
from urllib.error import URLError

from core.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
    UncertainDeliveryError,
)
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from alerts.senders.message import AcceptedHook, OutgoingMessage, SendResult, report_accepted

DEFAULT_HOST = "https://api.sendgrid.com"
DEFAULT_TIMEOUT = 30.0
_SUCCESS = frozenset({200, 202})
_CLIENT_LOGGER = "python_http_client.client"


class _NoSecretsInDebugLog(logging.Filter):
    """The HTTP client logs request headers (our API key) and bodies (subscribers'
    addresses) at DEBUG; drop those two records, keep the rest of its logging."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("HEADERS:", "PAYLOAD:"))


def _guard_client_log() -> None:
    logger = logging.getLogger(_CLIENT_LOGGER)
    if not any(isinstance(existing, _NoSecretsInDebugLog) for existing in logger.filters):
        logger.addFilter(_NoSecretsInDebugLog())


# Every message carries signed links (confirm, preferences, unsubscribe): click
# tracking would rewrite them through SendGrid's redirect domain (a mail scanner
# following it could confirm or unsubscribe, and the token leaves our domain),
# open tracking adds a pixel, and subscription tracking a second unsubscribe link.
TRACKING_OFF: dict[str, Any] = {
    "click_tracking": {"enable": False, "enable_text": False},
    "open_tracking": {"enable": False},
    "subscription_tracking": {"enable": False},
}


def categories_of(message: OutgoingMessage) -> list[str]:
    """The message's categories; a digest (it carries ``digest_id``) is "digest"."""
    if message.categories:
        return list(dict.fromkeys(message.categories))[:10]
    return ["digest"] if "digest_id" in message.custom_args else []


def sendgrid_payload(message: OutgoingMessage, *, sandbox: bool = False) -> dict[str, Any]:
    """The JSON body of ``POST /v3/mail/send`` for one message."""
    personalization: dict[str, Any] = {"to": [_address(message.to)]}
    if message.custom_args:
        personalization["custom_args"] = dict(message.custom_args)
    content = [{"type": "text/plain", "value": message.text}]  # the API wants text first
    if message.html.strip():
        content.append({"type": "text/html", "value": message.html})
    payload: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(message.from_addr),
        "subject": message.subject,
        "content": content,
        "headers": {"Message-ID": message.message_id, **message.headers},
        "tracking_settings": TRACKING_OFF,
    }
    if message.inline_images:
        payload["attachments"] = [
            {
                "content": base64.b64encode(image.data).decode("ascii"),
                "type": image.mime_type,
                "filename": image.filename,
                "disposition": "inline",
                "content_id": image.content_id,
            }
            for image in message.inline_images
        ]
    categories = categories_of(message)
    if categories:
        payload["categories"] = categories
    if sandbox:
        payload["mail_settings"] = {"sandbox_mode": {"enable": True}}
    return payload


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    return {"email": email, "name": name} if name else {"email": email}


class SendGridSender:
    """Sends through the v3 API at ``host`` (the real one, or a local stand-in in tests)."""

    name = "sendgrid"

    def __init__(
        self,
        api_key: str,
        host: str = DEFAULT_HOST,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        sandbox: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key.strip():
            # The client would silently fall back to the SENDGRID_API_KEY variable.
            raise ConfigError("SENDGRID_API_KEY is empty")
        if not host.startswith(("https://", "http://")):
            raise ConfigError(f"SENDGRID_HOST={host!r} must start with https://")
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.sandbox = sandbox
        self._clock = clock
        self._client = SendGridAPIClient(api_key=api_key, host=self.host)
        self.on_accepted: AcceptedHook | None = None
        _guard_client_log()

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The request body; a subclass may add fields (categories, ``asm`` groups)."""
        return sendgrid_payload(message, sandbox=self.sandbox)

    def send(self, message: OutgoingMessage) -> SendResult:
        body = self.payload(message)
        try:
            response = self._client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except HTTPError as exc:
            raise self._from_http_error(exc, message) from exc
        except URLError as exc:
            # urllib wraps only what fails while connecting and sending the request:
            # SendGrid never got the whole message, so trying again is safe.
            raise TemporaryDeliveryError(
                f"cannot reach SendGrid at {self.host}: {type(exc).__name__}: {exc.reason}"
            ) from exc
        except (http.client.HTTPException, OSError) as exc:
            # The request went out and the answer was lost (timeout, connection dropped):
            # SendGrid may have accepted it, and it has no idempotency key to retry with.
            raise UncertainDeliveryError(
                f"SendGrid at {self.host} got the request but its answer was lost "
                f"({type(exc).__name__}: {exc}); the message may have been sent"
            ) from exc
        status = int(response.status_code)
        if status not in _SUCCESS:
            raise PermanentDeliveryError(
                f"SendGrid at {self.host} answered HTTP {status} instead of 202; "
                "check that SENDGRID_HOST points at the v3 API"
            )
        provider_id = (response.headers.get("X-Message-Id") if response.headers else None) or None
        report_accepted(self.on_accepted, message, provider_id)
        return SendResult(transport=self.name, provider_id=provider_id)

    def was_delivered(self, message_id: str) -> bool | None:
        """Not known from here: the Mail Send API cannot be asked about a message.

        (SendGrid's Email Activity API could, but it is a paid add-on with its own
        key scope.) What is known is recorded: the 202 and its X-Message-Id the
        moment they arrive (``on_accepted``), and the Event Webhook's reports
        (``alerts.events``); the ledger reads both before anything is resent.
        """
        return None

    def _from_http_error(self, exc: HTTPError, message: OutgoingMessage) -> DeliveryError:
        status = int(exc.status_code)
        headers: Mapping[str, str] = exc.headers or {}
        detail = f"SendGrid answered HTTP {status}: {api_error_text(exc.body, exc.reason)}"
        if status == 429 or status >= 500 or status == 408:
            return TemporaryDeliveryError(detail, retry_after=retry_after(headers, self._clock()))
        if status in (401, 403):
            return TransportAuthError(
                f"{detail}; check SENDGRID_API_KEY and that the key may use Mail Send"
            )
        return PermanentDeliveryError(f"message to {message.to_address!r} rejected. {detail}")


def api_error_text(body: bytes | str | None, reason: str | None = None) -> str:
    """The API's own explanation, ``field: message`` per error, for the user to act on."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(raw)["errors"]
        parts = [
            f"{error['field']}: {error['message']}" if error.get("field") else error["message"]
            for error in errors
        ]
    except (ValueError, KeyError, TypeError):
        return raw.strip()[:300] or reason or "no details given"
    return "; ".join(str(part) for part in parts) or reason or "no details given"


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return None
