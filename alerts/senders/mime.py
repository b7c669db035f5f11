"""Turning an `OutgoingMessage` into RFC 5322 bytes, for the outbox and for SMTP.

Two stdlib defaults are wrong for mail that crosses the internet, so the policy
here changes them:

* bodies are 7-bit safe (base64 or quoted-printable), because an SMTP server
  without 8BITMIME may otherwise mangle Cyrillic text;
* an all-ASCII header such as ``List-Unsubscribe`` is folded only at spaces.
  The stdlib turns any token longer than a line (a signed unsubscribe URL)
  into RFC 2047 encoded-words, and mail clients then no longer see the URL
  that RFC 2369/8058 one-click unsubscribe depends on.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from typing import Any

from alerts.senders.message import OutgoingMessage

CUSTOM_ARG_HEADER_PREFIX = "X-Wirewatch-"
# Headers whose syntax the stdlib must format itself (quoting display names, parameters).
_STRUCTURED = frozenset(
    {"from", "to", "cc", "bcc", "sender", "reply-to", "subject"}
    | {"content-type", "content-disposition", "content-transfer-encoding"}
)
_HARD_LINE_LIMIT = 998  # RFC 5322 section 2.1.1


class _MailPolicy(EmailPolicy):
    """`email.policy.SMTP` with 7-bit bodies and URL-safe folding of ASCII headers."""

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        text = str(value)
        if name.lower() not in _STRUCTURED and text.isascii():
            lines = _fold_at_spaces(name, text, self.max_line_length or _HARD_LINE_LIMIT)
            if lines is not None:
                # Continuation lines start with the space that marks them as folded.
                return self.linesep.join(lines) + self.linesep
        result: str = super()._fold(name, value, refold_binary)  # type: ignore[misc]
        return result


def _fold_at_spaces(name: str, text: str, width: int) -> list[str] | None:
    """Greedy folding at spaces; None when one word is too long even for RFC 5322."""
    lines: list[str] = []
    current = f"{name}:"
    for word in text.split():
        if len(current) + 1 + len(word) > width and current.strip() != f"{name}:":
            lines.append(current)
            current = ""
        current += f" {word}"
    lines.append(current)
    if any(len(line) > _HARD_LINE_LIMIT for line in lines):
        return None
    return lines


MAIL_POLICY = _MailPolicy(linesep="\r\n", cte_type="7bit")


def custom_arg_header(name: str) -> str:
    """The header that carries a custom argument on transports without an API for them."""
    return f"{CUSTOM_ARG_HEADER_PREFIX}{name}"


def custom_args_from_headers(message: EmailMessage) -> dict[str, str]:
    """The custom arguments `build_mime` stored as headers, e.g. in a bounce we read back."""
    prefix = CUSTOM_ARG_HEADER_PREFIX.lower()
    return {
        key[len(prefix) :]: str(value)
        for key, value in message.items()
        if key.lower().startswith(prefix)
    }


def build_mime(message: OutgoingMessage) -> EmailMessage:
    """A multipart/alternative (text, then HTML) message with every header set.

    Inline images make the HTML alternative a multipart/related of the HTML and
    the images (RFC 2387): a client that shows the text part never fetches
    them, one that shows the HTML finds each by its Content-ID.
    """
    mime = EmailMessage(policy=MAIL_POLICY)
    mime["From"] = message.from_addr
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        mime[name] = value
    for name, value in message.custom_args.items():
        mime[custom_arg_header(name)] = value
    mime.set_content(message.text, charset="utf-8")
    if message.html.strip():
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.inline_images:
        html = mime.get_body(preferencelist=("html",))
        assert isinstance(html, EmailMessage)  # the message checks its HTML shows the images
        for image in message.inline_images:
            maintype, subtype = image.mime_type.split("/")
            html.add_related(
                image.data,
                maintype,
                subtype,
                cid=f"<{image.content_id}>",
                disposition="inline",
                filename=image.filename,
            )
    return mime


def mime_bytes(mime: EmailMessage) -> bytes:
    """Wire form with CRLF line ends, as SMTP and .eml readers expect."""
    return mime.as_bytes(policy=MAIL_POLICY)


def wire_size(message: OutgoingMessage) -> int:
    """How many bytes the message is on the wire (headers, every part, their encoding)."""
    return len(mime_bytes(build_mime(message)))
