"""Bounded retries around one send, so a brief 429 or 500 does not lose a digest.

Only `TemporaryDeliveryError` is retried. Waits grow exponentially with jitter
(so many workers hitting one rate limit do not retry in step), never exceed
``backoff_max``, and follow the transport's ``retry_after`` when it gives one.
If the transport asks for a longer wait than ``backoff_max`` we stop at once
and re-raise: sleeping less than asked only earns another 429, and the caller
keeps the message due for its next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.errors import TemporaryDeliveryError
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_exponential_jitter

from alerts.senders.message import OutgoingMessage, Sender, SendResult

log = logging.getLogger(__name__)
INITIAL_WAIT = 1.0


def send_with_retry(
    sender: Sender,
    message: OutgoingMessage,
    *,
    max_attempts: int,
    backoff_max: float,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """``sender.send(message)``, retried on temporary errors; the last one is re-raised."""
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    backoff = wait_exponential_jitter(
        multiplier=min(INITIAL_WAIT, backoff_max), max=backoff_max, jitter=min(1.0, backoff_max)
    )

    def wait(state: RetryCallState) -> float:
        asked = _retry_after(state)
        return backoff(state) if asked is None else asked

    def stop(state: RetryCallState) -> bool:
        asked = _retry_after(state)
        return state.attempt_number >= max_attempts or (asked is not None and asked > backoff_max)

    def before_sleep(state: RetryCallState) -> None:
        log.warning(
            "temporary failure sending %s via %s (attempt %d of %d), retrying in %.1fs: %s",
            message.message_id,
            sender.name,
            state.attempt_number,
            max_attempts,
            state.upcoming_sleep,
            _exception(state),
        )

    retrying = Retrying(
        retry=retry_if_exception_type(TemporaryDeliveryError),
        stop=stop,
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(sender.send, message)


def _exception(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _retry_after(state: RetryCallState) -> float | None:
    exc = _exception(state)
    return exc.retry_after if isinstance(exc, TemporaryDeliveryError) else None
