"""Why a source could not be read, in words an operator can act on.

Checking a new source (``wirewatch.sourcecheck``) and crawling a known one
(``crawler``) fail in the same few ways; both name them with these classes so
the sources page, the CLI and operator alerts say "DNS: the host does not
resolve" rather than a library's exception name. The text form is always one
line: ``"<class>: <detail>"`` (``"HTTP 404: ..."`` for a status).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FailureKind(enum.StrEnum):
    DNS = "dns"
    CONNECTION = "connection"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP = "http"
    ROBOTS = "robots"
    REFUSED_ADDRESS = "refused-address"
    PARSE = "parse"
    NOT_A_SOURCE = "not-a-source"
    OTHER = "other"


LABELS = {
    FailureKind.DNS: "DNS",
    FailureKind.CONNECTION: "connection",
    FailureKind.TLS: "TLS",
    FailureKind.TIMEOUT: "timeout",
    FailureKind.HTTP: "HTTP",
    FailureKind.ROBOTS: "robots.txt",
    FailureKind.REFUSED_ADDRESS: "refused address",
    FailureKind.PARSE: "parse",
    FailureKind.NOT_A_SOURCE: "not a feed",
    FailureKind.OTHER: "error",
}


@dataclass(frozen=True)
class Failure:
    """One classified failure; ``status`` is the HTTP status for ``FailureKind.HTTP``."""

    kind: FailureKind
    detail: str
    status: int | None = None

    @property
    def label(self) -> str:
        if self.kind == FailureKind.HTTP and self.status is not None:
            return f"HTTP {self.status}"
        return LABELS[self.kind]

    def __str__(self) -> str:
        return one_line(f"{self.label}: {self.detail}")


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a message fits one line of a table or log."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def kind_of(error: str | None) -> FailureKind | None:
    """The class of a recorded one-line error (``"DNS: ..."``, ``"HTTP 404: ..."``), or None."""
    if not error:
        return None
    head = error.split(":", 1)[0].strip()
    if head.startswith("HTTP"):
        return FailureKind.HTTP
    if head in ("unreadable feed", "malformed feed"):
        return FailureKind.PARSE
    for kind, label in LABELS.items():
        if head == label:
            return kind
    return FailureKind.OTHER
