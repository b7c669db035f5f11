"""The seam between composing a digest and delivering it.

Composing code builds an `OutgoingMessage`; a `Sender` hands it to one transport
(an outbox folder, an SMTP server or the SendGrid API) and either returns a
`SendResult` or raises one of the delivery errors from `core.errors`:

    TemporaryDeliveryError   try again later; ``retry_after`` says when, if the transport knows
    PermanentDeliveryError   this message can never go out as it is
    TransportAuthError       the transport refuses our credentials: stop the whole run

After a crash mid-send, ``Sender.was_delivered`` says whether a message with a
given id went out: True or False when the transport can tell, None when it
cannot (a network transport keeps no record we could read back).

Transports are swapped by configuration, never by patching, so tests drive the
real code against local servers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses, make_msgid, parseaddr
from types import MappingProxyType
from typing import Protocol, runtime_checkable

# Headers the message's own fields set; a caller passing them in ``headers``
# would silently fight the transport, so it is refused up front.
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "reply-to",
    }
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_ARG_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # must also work as part of an X- header name
# RFC 2392 content ids as we make them: local@domain without spaces, brackets or quotes.
_CONTENT_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$")
INLINE_IMAGE_TYPES = frozenset({"image/png"})


def new_message_id(from_addr: str) -> str:
    """A fresh ``<...@domain>`` id in the sender's own domain.

    The domain is taken from the address rather than from ``socket.getfqdn()``
    (what `make_msgid` does by default), which would cost a DNS lookup per message.
    """
    _, address = parseaddr(from_addr)
    domain = address.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


@dataclass(frozen=True)
class InlineImage:
    """A picture the HTML part shows from inside the message, as ``<img src="cid:ID">``.

    Mail clients block remote images until the reader allows them and mostly
    do not render SVG; an image carried in the message (RFC 2387
    multipart/related, RFC 2392 ``cid:``) is shown at once.
    """

    content_id: str  # without the angle brackets of the Content-ID header
    data: bytes
    filename: str
    mime_type: str = "image/png"

    def __post_init__(self) -> None:
        if not _CONTENT_ID.match(self.content_id):
            raise ValueError(f"content id {self.content_id!r} must look like local@domain")
        if self.mime_type not in INLINE_IMAGE_TYPES:
            raise ValueError(f"inline image type {self.mime_type!r}: use one of image/png")
        if not self.data:
            raise ValueError(f"inline image {self.content_id!r} is empty")
        if not self.filename or not self.filename.isascii() or "/" in self.filename:
            raise ValueError(f"inline image file name {self.filename!r}: a plain ASCII name")

    @property
    def src(self) -> str:
        """What the HTML's ``<img src>`` says to show this image."""
        return f"cid:{self.content_id}"


@dataclass(frozen=True)
class OutgoingMessage:
    """One email to one recipient, complete and transport-neutral."""

    to: str
    from_addr: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)
    custom_args: Mapping[str, str] = field(default_factory=dict)
    message_id: str = ""
    # What kind of mail this is ("digest", "confirm"), for the provider's statistics.
    categories: tuple[str, ...] = ()
    # Pictures the HTML part shows by ``cid:`` (see `InlineImage`).
    inline_images: tuple[InlineImage, ...] = ()

    def __post_init__(self) -> None:
        for label, value in (("to", self.to), ("from_addr", self.from_addr)):
            addresses = getaddresses([value])
            if len(addresses) != 1 or "@" not in addresses[0][1]:
                raise ValueError(f"{label}={value!r} is not exactly one email address")
        if not self.subject.strip() or "\r" in self.subject or "\n" in self.subject:
            raise ValueError(f"subject {self.subject!r} must be one non-empty line")
        if not self.text.strip():
            raise ValueError("text is empty: every message needs a plain-text part")
        for name, value in self.headers.items():
            _check_header(name, value)
        for category in self.categories:
            if not category or len(category) > 255 or not category.isascii():
                raise ValueError(f"category {category!r}: 1 to 255 ASCII characters")
        for name, value in self.custom_args.items():
            if not _ARG_NAME.match(name):
                raise ValueError(f"custom arg name {name!r}: use letters, digits, '_' or '-'")
            if not isinstance(value, str):
                kind = type(value).__name__
                raise TypeError(f"custom arg {name!r} must be a string, got {kind}")
        for image in self.inline_images:
            if image.src not in self.html:
                raise ValueError(f"inline image {image.content_id!r}: the HTML never shows it")
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        object.__setattr__(self, "custom_args", MappingProxyType(dict(self.custom_args)))
        if not self.message_id:
            object.__setattr__(self, "message_id", new_message_id(self.from_addr))
        elif not (self.message_id.startswith("<") and self.message_id.endswith(">")):
            raise ValueError(f"message_id {self.message_id!r} must look like <local@domain>")

    @property
    def to_address(self) -> str:
        """The bare recipient address, as the SMTP envelope and APIs want it."""
        return parseaddr(self.to)[1]

    @property
    def from_address(self) -> str:
        """The bare sender address."""
        return parseaddr(self.from_addr)[1]


def _check_header(name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"header name {name!r} is not a valid RFC 5322 field name")
    if name.lower() in RESERVED_HEADERS:
        raise ValueError(f"header {name!r} is set from the message fields; do not pass it")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name!r} contains a line break (header injection?)")


@dataclass(frozen=True)
class SendResult:
    """What a transport said when it took the message."""

    transport: str
    provider_id: str | None
    accepted: bool = True


log = logging.getLogger(__name__)

# Called by a network transport the moment the server takes a message (SMTP 250,
# SendGrid 202), with the server's id for it, before anything else can go wrong.
AcceptedHook = Callable[["OutgoingMessage", str | None], None]


@runtime_checkable
class ReportsAcceptance(Protocol):
    """A sender that can say at once when the server took a message (``on_accepted``)."""

    on_accepted: AcceptedHook | None


def report_accepted(
    hook: AcceptedHook | None, message: OutgoingMessage, provider_id: str | None
) -> None:
    """Tell the hook the server took the message; its failure must not turn into a resend."""
    if hook is None:
        return
    try:
        hook(message, provider_id)
    except Exception:  # the message is sent all the same
        log.warning("could not record that %s was accepted", message.message_id, exc_info=True)


class Sender(Protocol):
    """Hands messages to one mail transport; see the module docstring for the errors."""

    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...

    def was_delivered(self, message_id: str) -> bool | None:
        """Whether the message with this id was handed over; None when this transport cannot know."""
        ...
