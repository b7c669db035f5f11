"""Choosing the transport from settings, in one place."""

from __future__ import annotations

from core.errors import ConfigError
from core.settings import Settings

from alerts.senders.message import Sender
from alerts.senders.outbox import OutboxSender
from alerts.senders.sendgrid import SendGridSender
from alerts.senders.smtp import SmtpSender


def make_sender(settings: Settings) -> Sender:
    """The sender for ``settings.effective_mail_transport`` (SendGrid, SMTP or the outbox)."""
    transport = settings.effective_mail_transport
    if transport == "sendgrid":
        if settings.sendgrid_api_key is None:
            raise ConfigError("mail transport is 'sendgrid' but SENDGRID_API_KEY is not set")
        return SendGridSender(
            settings.sendgrid_api_key.get_secret_value(), host=settings.sendgrid_host
        )
    if transport == "smtp":
        if not settings.smtp_url:
            raise ConfigError("mail transport is 'smtp' but SMTP_URL is not set")
        return SmtpSender(settings.smtp_url)
    if settings.outbox_dir is None:
        raise ConfigError("mail transport is 'outbox' but WIREWATCH_OUTBOX_DIR is not set")
    return OutboxSender(settings.outbox_dir)
