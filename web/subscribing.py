"""What the subscribe form and ``POST /api/subscriptions`` share: the allowance, and the asking.

Both only ever send a confirmation email; nothing else is sent before its
link is opened. They answer the same whatever the address's state, so they
reveal nothing about who is subscribed, and each client address may ask
``subscribe_rate_limit`` times an hour.
"""

from __future__ import annotations

import logging
import math

from alerts import subscribe as subs
from alerts.senders import make_sender
from alerts.tokens import Tokens
from core.errors import DeliveryError
from core.settings import Settings
from core.translatable import N_
from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

RATE_WINDOW = 3600.0
ACCEPTED = N_(
    "If this address can receive mail, a confirmation link is on its way to it. "
    "Nothing is sent before the link is opened."
)


def limiter(settings: Settings) -> RateLimiter:
    """The app's subscribe allowance (``app.state.subscribe_limiter``)."""
    return RateLimiter(settings.subscribe_rate_limit, window=RATE_WINDOW)


def wait(request: Request) -> int:
    """Counts this subscribe request against the client's hourly allowance; seconds to wait."""
    allowance: RateLimiter = request.app.state.subscribe_limiter
    return math.ceil(allowance.hit(client(request)))


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def ask(
    request: Request,
    factory: sessionmaker[Session],
    settings: Settings,
    tokens: Tokens,
    *,
    email: str,
    topics: list[str],
    preferences: subs.Preferences,
) -> None:
    """Record the request and send the confirmation email (its own short transactions:
    the request is stored before the mail goes out, and the sending time after).

    Raises AddressError, PreferenceError or NotFoundError for bad input, and
    DeliveryError when the email could not be handed over.
    """
    try:
        result = subs.request_subscription(
            factory,
            settings,
            make_sender(settings),
            email=email,
            topics=topics,
            preferences=preferences,
            tokens=tokens,
        )
    except DeliveryError as exc:
        log.error("confirmation email could not be sent: %s", exc)
        raise
    log.info("subscribe request from %s: %s", client(request), result.outcome.value)
