"""Search parameters from a query string, shared by the pages, the API and exports.

Limits are enforced here, before any database work: query length, page size,
cursor length (ADVERSARIAL case 46), dates from 1900-01-01 to 2999-12-31.
Out-of-range values answer 422 with a message naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query
from wirewatch.archive import SearchRequest

MAX_QUERY_CHARS = 500
MAX_CURSOR_CHARS = 200
MAX_PAGE = 100
# Dates and times a search may name (UTC). Stories are never dated in the future, and
# anything before 1970 sorts as 1970; the bounds keep "the next day" and time-zone
# shifts far from the ends of what Python's datetime can hold.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # exclusive: the end of 2999-12-31

Sort = Literal["newest", "relevance"]


def parse_when(value: str | None, *, name: str, end: bool = False) -> datetime | None:
    """``2026-11-01`` (a whole day: its start, or with ``end`` the next day's start) or ISO time."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text)
            moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError as exc:
        raise HTTPException(
            status_code=422,
            detail=f"{name}={value!r} is not a date: use 2026-11-01 or 2026-11-01T10:00:00Z",
        ) from exc
    if not EARLIEST <= moment < LATEST:
        raise HTTPException(
            status_code=422,
            detail=f"{name}={value!r} is out of range: dates from {EARLIEST:%Y-%m-%d} "
            f"to {LATEST - timedelta(days=1):%Y-%m-%d}",
        )
    return moment + timedelta(days=1) if end and len(text) == 10 else moment


@dataclass(frozen=True)
class Filters:
    q: str
    since: str | None
    until: str | None
    source: str | None
    lang: str | None
    topic: str | None
    cluster: int | None
    sort: Sort
    collapse: bool
    across: bool = True

    def request(self, *, limit: int = 20, cursor: str | None = None) -> SearchRequest:
        return SearchRequest(
            query=self.q,
            since=parse_when(self.since, name="since"),
            until=parse_when(self.until, name="until", end=True),
            source=self.source or None,
            language=self.lang or None,
            topic=self.topic or None,
            cluster=self.cluster,
            sort=self.sort,
            collapse=self.collapse,
            across=self.across,
            limit=limit,
            cursor=cursor or None,
        )


def filters(
    q: Annotated[
        str, Query(max_length=MAX_QUERY_CHARS, description="Query in the topic query language")
    ] = "",
    since: Annotated[
        str | None, Query(max_length=40, description="From this date (2026-11-01) or time")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="Up to this date (inclusive) or time")
    ] = None,
    source: Annotated[str | None, Query(max_length=100, description="Source name")] = None,
    lang: Annotated[
        str | None, Query(max_length=16, description="Language code: ru, tg, en")
    ] = None,
    topic: Annotated[str | None, Query(max_length=100, description="Topic slug")] = None,
    cluster: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Cluster id")] = None,
    sort: Annotated[Sort, Query(description="newest first, or most relevant first")] = "newest",
    collapse: Annotated[
        bool,
        Query(
            description="One entry per event (the reports of one happening across outlets "
            "and languages), led by its headline report when that matches; false: every story"
        ),
    ] = True,
    across: Annotated[
        bool,
        Query(
            description="Each word also finds its equivalents in Russian, Tajik and English "
            "(МВД finds 'interior ministry' and 'ВКД'), from the beat's lexicon and aliases; "
            "0: the words as written only"
        ),
    ] = True,
) -> Filters:
    # Checked here, so a date out of range is a 422 before any route does work.
    parse_when(since, name="since")
    parse_when(until, name="until", end=True)
    return Filters(q, since, until, source, lang, topic, cluster, sort, collapse, across)


SearchFilters = Annotated[Filters, Depends(filters)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Results per page")]
Cursor = Annotated[
    str | None, Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page")
]
