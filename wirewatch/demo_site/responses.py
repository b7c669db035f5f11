"""What a route hands back to the request handler, and HTTP validators (ETag, 304).

Routes return either a complete ``Response`` (the handler adds ETag and
Last-Modified and answers conditional requests with 304) or a ``Stream`` whose
``write`` controls the wire itself: the fault routes that stall, cut off or
flood the client need that.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from io import BufferedIOBase


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    # Seconds since the epoch; None means the response carries no validators.
    last_modified: float | None = None

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:24]}"'


@dataclass(frozen=True)
class Stream:
    """A response written by ``write(out, stop)``, then the connection is closed.

    ``stop`` is set when the server stops, so a write that waits can end early.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    write: Callable[[BufferedIOBase, threading.Event], None]


def text(status: int, message: str, *headers: tuple[str, str]) -> Response:
    return Response(status, message.encode("utf-8") + b"\n", headers=headers)


def http_date(timestamp: float) -> str:
    return formatdate(int(timestamp), usegmt=True)


def not_modified(if_none_match: str | None, since: str | None, response: Response) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if if_none_match is not None:
        return _etag_matches(if_none_match, response.etag)
    if since is None or response.last_modified is None:
        return False
    try:
        since_ts = parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # an unparseable date is ignored, as the RFC says
    return int(response.last_modified) <= since_ts


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    # Weak comparison: W/"x" matches "x".
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates
