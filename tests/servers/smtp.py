"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives.

Messages are parsed with the modern email policy, so a test reads the subject
and headers exactly as a mail client would. The server can also be told to
refuse the next MAIL, RCPT or DATA with a chosen reply, to reach the sender's
error handling, and to require a login or speak TLS.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

Stage = Literal["MAIL", "RCPT", "DATA"]
SERVER_NAME = "smtp.test"
USERNAME = "wirewatch"
PASSWORD = "s3cret: with spaces & symbols"


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: the envelope, the parsed message and the raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    queue_id: str


@dataclass
class _Handler:
    credentials: tuple[str, str] | None
    messages: list[ReceivedMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rejections: deque[tuple[Stage, str]] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _rejection(self, stage: Stage) -> str | None:
        with self.lock:
            if self.rejections and self.rejections[0][0] == stage:
                return self.rejections.popleft()[1]
        return None

    async def handle_MAIL(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        reply = self._rejection("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        reply = self._rejection("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        reply = self._rejection("DATA")
        if reply:
            return reply
        raw = bytes(envelope.original_content or b"")
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            queue_id = f"Q{len(self.messages) + 1:05d}"
            self.messages.append(
                ReceivedMessage(
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=parsed,
                    raw=raw,
                    queue_id=queue_id,
                )
            )
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def authenticate(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            self.credentials is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        )
        if ok:
            with self.lock:
                self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    # aiosmtpd's controller must know its port before it binds (it connects to
    # itself to check readiness), so ask the kernel for one that is free now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpTestServer:
    """The server; a context manager. ``tls``: None, ``"starttls"`` or ``"implicit"``."""

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = (USERNAME, PASSWORD),
        tls: Literal["starttls", "implicit"] | None = None,
        server_tls: ssl.SSLContext | None = None,
    ) -> None:
        if tls is not None and server_tls is None:
            raise ValueError("a TLS server needs server_tls (see self_signed_tls)")
        self.tls = tls
        self._handler = _Handler(credentials=credentials)
        self.host = "127.0.0.1"
        self.port = _free_port()
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": SERVER_NAME,
            "auth_require_tls": False,
            "authenticator": self._handler.authenticate,
        }
        if tls == "starttls":
            kwargs["tls_context"] = server_tls
        elif tls == "implicit":
            kwargs["ssl_context"] = server_tls
        self._controller = Controller(self._handler, **kwargs)

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self._handler.messages

    @property
    def logins(self) -> list[str]:
        """User names that logged in successfully, in order."""
        return self._handler.logins

    @property
    def url(self) -> str:
        """An SMTP_URL for this server without credentials."""
        scheme = {None: "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        return f"{scheme}://{self.host}:{self.port}"

    def url_with_login(self, user: str = USERNAME, password: str = PASSWORD) -> str:
        """An SMTP_URL carrying credentials, percent-encoded as users must write them."""
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"

    def reject_next(self, stage: Stage, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` MAIL/RCPT/DATA commands with ``reply`` (e.g. "451 ...")."""
        with self._handler.lock:
            self._handler.rejections.extend([(stage, reply)] * times)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


def self_signed_tls(
    directory: Path, host: str = "127.0.0.1"
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for ``host``, and a client context trusting it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file = directory / "smtp-cert.pem"
    key_file = directory / "smtp-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server on 127.0.0.1 that accepts mail with or without a login."""
    with SmtpTestServer() as server:
        yield server
