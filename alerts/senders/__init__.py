"""Mail transports behind one interface: outbox folder, SMTP, SendGrid.

Pick one with `make_sender(settings)`, wrap calls in `send_with_retry`, and
handle the four delivery errors from `core.errors` (temporary, uncertain,
permanent, and refused credentials) as described in
`alerts.senders.message`. See docs/mail.md.
"""

from alerts.senders.factory import make_sender
from alerts.senders.message import (
    InlineImage,
    OutgoingMessage,
    Sender,
    SendResult,
    new_message_id,
)
from alerts.senders.mime import build_mime, custom_args_from_headers, mime_bytes
from alerts.senders.mock import MockSender
from alerts.senders.outbox import OutboxSender
from alerts.senders.retry import send_with_retry
from alerts.senders.sendgrid import SendGridSender, sendgrid_payload
from alerts.senders.smtp import SmtpSender, parse_smtp_url

__all__ = [
    "InlineImage",
    "MockSender",
    "OutboxSender",
    "OutgoingMessage",
    "SendGridSender",
    "SendResult",
    "Sender",
    "SmtpSender",
    "build_mime",
    "custom_args_from_headers",
    "make_sender",
    "mime_bytes",
    "new_message_id",
    "parse_smtp_url",
    "send_with_retry",
    "sendgrid_payload",
]
