"""A sender for tests of the code that composes and schedules mail.

Like httpx's ``MockTransport``: instead of patching a real transport, pass a
handler that decides what happens to each message (return a result, raise a
delivery error, or return None to accept). Every message offered is recorded
in ``offered``; the ones accepted in ``sent``.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.senders.message import AcceptedHook, OutgoingMessage, SendResult

Handler = Callable[[OutgoingMessage], SendResult | None]


class MockSender:
    """Keeps messages in memory; nothing is delivered."""

    name = "mock"

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.offered: list[OutgoingMessage] = []
        self.sent: list[OutgoingMessage] = []
        self.on_accepted: AcceptedHook | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        self.offered.append(message)
        result = self.handler(message) if self.handler is not None else None
        self.sent.append(message)
        result = result or SendResult(transport=self.name, provider_id=message.message_id)
        if self.on_accepted is not None:
            self.on_accepted(message, result.provider_id)
        return result

    def was_delivered(self, message_id: str) -> bool:
        """Whether this sender accepted a message with this id."""
        return any(message.message_id == message_id for message in self.sent)
