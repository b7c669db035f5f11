"""A search as asked: the request, and the cursor that says where the last page ended."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.errors import WirewatchError

MAX_LIMIT = 100
MAX_CURSOR_CHARS = 200

Sort = Literal["newest", "relevance"]


class SearchRequestError(WirewatchError):
    """A search parameter is unusable (a malformed cursor, a limit out of range)."""


@dataclass(frozen=True)
class SearchRequest:
    """One archive search. ``until`` is exclusive; ``cursor`` comes from the previous page."""

    query: str = ""
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    language: str | None = None
    topic: str | None = None
    cluster: int | None = None
    sort: Sort = "newest"
    collapse: bool = True
    # Each word also finds its equivalents in the other languages (core.across).
    across: bool = True
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class Position:
    key: int
    score: float | None = None


def encode_cursor(position: Position) -> str:
    payload: dict[str, Any] = {"k": position.key}
    if position.score is not None:
        payload["s"] = position.score
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    invalid = SearchRequestError("the page cursor is not valid; start again from the first page")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if not isinstance(payload, dict):
        raise invalid
    key, score = payload.get("k"), payload.get("s")
    if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < 2**62:
        raise invalid
    if score is not None and (not isinstance(score, int | float) or isinstance(score, bool)):
        raise invalid
    return Position(key, float(score) if score is not None else None)
