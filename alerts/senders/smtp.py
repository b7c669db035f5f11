"""Delivery through any SMTP server, configured by one URL.

``smtp://host:25`` (plain), ``smtp+starttls://host:587`` (upgrade after
connecting) or ``smtps://host:465`` (TLS from the first byte), each optionally
with ``user:password@`` (percent-encode special characters). SMTP reply codes
decide what happens next: 4xx means try later, 5xx means this message cannot go
out, and an authentication failure stops the run because every message would fail.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from core.errors import (
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
    UncertainDeliveryError,
)

from alerts.senders.message import AcceptedHook, OutgoingMessage, SendResult, report_accepted
from alerts.senders.mime import build_mime, mime_bytes

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
DEFAULT_TIMEOUT = 30.0
# 530 authentication required, 534 mechanism too weak, 535 credentials invalid, 538 needs TLS
_AUTH_CODES = frozenset({530, 534, 535, 538})
_QUEUE_ID = re.compile(r"queued as\s+<?([^\s>]+)", re.IGNORECASE)
_DOT_AT_LINE_START = re.compile(rb"(?m)^\.")


@dataclass(frozen=True)
class SmtpTarget:
    """The parts of an SMTP URL; ``str()`` never shows the password."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """Checks the URL once, at start-up, rather than on the first digest."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    shown = url.split("@")[-1]  # never echo a password into logs
    if scheme not in DEFAULT_PORTS:
        raise ConfigError(
            f"SMTP_URL ...{shown!r}: scheme must be one of {', '.join(sorted(DEFAULT_PORTS))}"
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConfigError(f"SMTP_URL ...{shown!r}: the port is not a number") from exc
    if not parts.hostname:
        raise ConfigError(f"SMTP_URL ...{shown!r}: no host name")
    return SmtpTarget(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class SmtpSender:
    """One connection per message: digests are few, and a fresh connection never goes stale."""

    name = "smtp"

    def __init__(
        self,
        smtp_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.target = parse_smtp_url(smtp_url)
        self.timeout = timeout
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._local_hostname = local_hostname
        self.on_accepted: AcceptedHook | None = None

    def send(self, message: OutgoingMessage) -> SendResult:
        for address in (message.from_address, message.to_address):
            if not address.isascii():
                raise PermanentDeliveryError(
                    f"address {address!r} is not ASCII; this SMTP transport cannot send to it"
                )
        data = mime_bytes(build_mime(message))
        try:
            smtp = self._connect()
            try:
                reply = self._transact(smtp, message, data)
                match = _QUEUE_ID.search(reply)
                provider_id = match.group(1) if match else None
                # Recorded before QUIT, which may wait on the server until the timeout:
                # a process killed from here on has proof the message went out.
                report_accepted(self.on_accepted, message, provider_id)
            finally:
                _quit_quietly(smtp)
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportAuthError(
                f"SMTP server {self.target} refused the login for {self.target.username!r}: "
                f"{_reply_text(exc)}; check the user and password in SMTP_URL"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise TransportAuthError(f"SMTP server {self.target}: {exc}; fix SMTP_URL") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise self._from_code(code, text, f"refused recipient {message.to_address!r}") from exc
        except smtplib.SMTPResponseException as exc:
            raise self._from_code(exc.smtp_code, exc.smtp_error, "refused the message") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryDeliveryError(
                f"cannot talk to SMTP server {self.target}: {type(exc).__name__}: {exc}"
            ) from exc
        return SendResult(transport=self.name, provider_id=provider_id)

    def was_delivered(self, message_id: str) -> bool | None:
        """SMTP has no way to ask a server what it queued: never known from here.

        What is known was recorded as it happened: the ledger keeps the moment the
        server answered 250 (``on_accepted``). After a lost answer to DATA nothing is.
        """
        return None

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        hostname = self._ehlo_name()
        smtp: smtplib.SMTP
        if target.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                target.host,
                target.port,
                local_hostname=hostname,
                timeout=self.timeout,
                context=self._ssl_context,
            )
        else:
            smtp = smtplib.SMTP(
                target.host, target.port, local_hostname=hostname, timeout=self.timeout
            )
        try:
            if target.scheme == "smtp+starttls":
                smtp.ehlo()
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if target.username:
                try:
                    smtp.login(target.username, target.password or "")
                except smtplib.SMTPException as exc:
                    if isinstance(exc, smtplib.SMTPResponseException):
                        raise
                    # "no suitable authentication method": no retry will fix it.
                    raise TransportAuthError(
                        f"SMTP server {target} cannot log in {target.username!r}: {exc}"
                    ) from exc
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transact(self, smtp: smtplib.SMTP, message: OutgoingMessage, data: bytes) -> str:
        """MAIL, RCPT, DATA one by one, so the server's queue id can be kept."""
        smtp.ehlo_or_helo_if_needed()
        code, text = smtp.mail(message.from_address)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, message.from_address)
        code, text = smtp.rcpt(message.to_address)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({message.to_address: (code, text)})
        code, text = smtp.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, text)
        # What smtplib's data() does, split so that a lost reply is told apart: until
        # the final "." arrives the server discards the message, after it may queue it.
        payload = _DOT_AT_LINE_START.sub(b"..", data)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        smtp.send(payload + b".\r\n")
        try:
            code, text = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise UncertainDeliveryError(
                f"SMTP server {self.target} received the message but its answer was lost "
                f"({type(exc).__name__}: {exc}); it may have been queued"
            ) from exc
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        return text.decode("utf-8", "replace")

    def _ehlo_name(self) -> str:
        # smtplib would call socket.getfqdn() on every connection; once is enough.
        if self._local_hostname is None:
            self._local_hostname = socket.getfqdn()
        return self._local_hostname

    def _from_code(self, code: int, text: bytes | str, what: str) -> DeliveryError:
        detail = f"SMTP server {self.target} {what}: {code} {_decode(text)}"
        if code in _AUTH_CODES:
            return TransportAuthError(f"{detail}; check the credentials in SMTP_URL")
        if 400 <= code < 500:
            return TemporaryDeliveryError(detail)
        return PermanentDeliveryError(detail)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    """Once DATA was accepted the message is sent; a failing QUIT must not trigger a resend."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text


def _reply_text(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_decode(exc.smtp_error)}"
