"""Candidate rows in key order: one SQL query per page (SQLite), time windows (PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from db.search.compiled import Compiled, Row
from db.search.request import Position
from db.search.tokens import DAY, MONTH, seconds_of, sort_key_bound

# SQLite bm25 column weights (title, body, meta) and PostgreSQL ts_rank weights {D,C,B,A}.
BM25 = "bm25(search_fts, 4.0, 1.0, 0.0)"
# double precision: a real would come back rounded in text, and keyset cursors compare exactly
TS_RANK = "CAST(ts_rank('{0.2, 0.2, 0.2, 1.0}', d.tsv, CAST(:m AS tsquery)) AS double precision)"
# PostgreSQL newest-first: look in the last days and months before the whole archive.
PG_DAY_WINDOWS = (3, 28)
PG_MONTH_WINDOWS = (3, 9, 12)
# Fewer matches than this in the first (latest days) window: search the rest at once.
PG_SPARSE_FIRST_WINDOW = 5


def candidate_sql(
    c: Compiled,
    *,
    after: Position | None,
    keys: Sequence[int] | None,
    limit: int | None,
    ordered: bool = True,
    only: Literal["sure", "unsure"] | None = None,
) -> tuple[Any, dict[str, Any]]:
    params: dict[str, Any] = {}
    where: list[str] = []
    # No index expression at all (NOT over a phrase on SQLite): every row is a candidate
    # and the matcher decides; only an exact rendering may skip the check.
    verify = "0" if c.exact else "1"
    score = "NULL"
    if c.dialect == "postgresql":
        frm, keycol = "search_docs d", "d.sort_key"
        if c.match is not None:
            params["m"] = c.match
            condition = "d.tsv @@ CAST(:m AS tsquery)"
            if c.positional:
                if c.loose is not None:
                    # Same rows as "m OR (NOT positions_exact AND ml)" (m implies ml), but
                    # GIN answers ml without reading the rows, and each candidate's
                    # tsvector is read once, for m, instead of up to four times.
                    params["ml"] = c.loose
                    loose = "d.tsv @@ CAST(:ml AS tsquery)"
                    condition = f"({loose} AND (NOT d.positions_exact OR {condition}))"
                else:
                    condition = f"({condition} OR NOT d.positions_exact)"
            where.append(condition)
            if not c.exact:
                verify = "1"
            elif c.positional:
                verify = "CASE WHEN d.positions_exact THEN 0 ELSE 1 END"
                if only is not None:
                    where.append("d.positions_exact" if only == "sure" else "NOT d.positions_exact")
            if c.relevance:
                score = TS_RANK
    else:
        if c.match is not None:
            frm, keycol = "search_fts f JOIN search_docs d ON d.sort_key = f.rowid", "f.rowid"
            params["m"] = c.match
            where.append("search_fts MATCH :m")
            verify = "0" if c.exact else "1"
            if c.relevance:
                score = BM25
        else:
            frm, keycol = "search_docs d", "d.sort_key"
    if c.lo is not None:
        where.append(f"{keycol} >= :lo")
        params["lo"] = c.lo
    if c.hi is not None:
        where.append(f"{keycol} < :hi")
        params["hi"] = c.hi
    if c.topic_id is not None:
        where.append("d.story_id IN (SELECT story_id FROM topic_matches WHERE topic_id = :topic)")
        params["topic"] = c.topic_id
    if c.cluster is not None:
        where.append("d.story_id IN (SELECT id FROM stories WHERE cluster_id = :cluster)")
        params["cluster"] = c.cluster
    if keys is not None:
        where.append(f"{keycol} IN :keys")
        params["keys"] = list(keys)
    inner = (
        f"SELECT {keycol} AS k, d.story_id AS sid, {verify} AS v, {score} AS s, d.lang AS lang "
        f"FROM {frm}" + (" WHERE " + " AND ".join(where) if where else "")
    )
    outer_where: list[str] = []
    if c.relevance:
        better = ">" if c.dialect == "sqlite" else "<"
        order = "s, k DESC" if c.dialect == "sqlite" else "s DESC, k DESC"
        if after is not None and after.score is not None:
            outer_where.append(f"(s {better} :after_s OR (s = :after_s AND k < :after_k))")
            params["after_s"], params["after_k"] = after.score, after.key
    else:
        order = "k DESC"
        if after is not None:
            outer_where.append("k < :after_k")
            params["after_k"] = after.key
    sql = f"SELECT k, sid, v, s, lang FROM ({inner}) AS c"
    if outer_where:
        sql += " WHERE " + " AND ".join(outer_where)
    if ordered:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += " LIMIT :n"
        params["n"] = limit
    stmt = text(sql)
    if keys is not None:
        stmt = stmt.bindparams(bindparam("keys", expanding=True))
    return stmt, params


@dataclass(frozen=True, slots=True)
class Found:
    rows: list[Row]
    # None: every candidate below the cursor was considered. A key: only those at or
    # above it were (a time budget ran out); the next page starts below it.
    stopped_at: int | None = None


def candidates(
    session: Session,
    c: Compiled,
    *,
    after: Position | None = None,
    keys: Sequence[int] | None = None,
    limit: int | None = None,
) -> Found:
    if (
        c.dialect == "postgresql"
        and c.match is not None
        and keys is None
        and limit is not None
        and not c.relevance
        and c.windows
    ):
        return _pg_newest(session, c, after, limit)
    return Found(_run(session, c, after=after, keys=keys, limit=limit))


def _pg_newest(session: Session, c: Compiled, after: Position | None, limit: int) -> Found:
    """Newest first on PostgreSQL: the last days, then the month, the year, then the rest.

    Each window asks GIN for matches among stories of some days or months only
    (day and month lexemes), so a phrase whose words are common rechecks the
    tsvectors of those stories only; windows do not overlap, each starting
    where the previous one ended. When the page is not full after
    PG_WINDOW_BUDGET seconds (counted from the start of the search, across
    rounds), it ends early with a cursor at the window edge.
    """
    rows: list[Row] = []
    position = after
    for number, (window, floor) in enumerate(time_windows(c, after)):
        rows += _run(session, within(c, window), after=position, keys=None, limit=limit - len(rows))
        if len(rows) >= limit or (c.oldest is not None and floor <= c.oldest):
            return Found(rows)
        position = Position(floor)
        sparse = number == 0 and len(rows) < PG_SPARSE_FIRST_WINDOW
        if sparse and not c.positional and c.lo is None:
            # Few matches in the last days: the query is selective, so every later
            # window would union big day/month lists to find little; one search of
            # the rest costs only its (few) matches. Not for phrases: there the
            # cost is every story holding the words, which can be many for a
            # rare phrase of common words, and the windows' time budget bounds it;
            # nor with a date range, whose windows are bounded by it.
            break
        if c.window_deadline is not None and time.monotonic() > c.window_deadline:
            return Found(rows, stopped_at=floor)
    rows += _run(session, c, after=position, keys=None, limit=limit - len(rows))
    return Found(rows)


def within(c: Compiled, window: str) -> Compiled:
    """``c`` asking GIN only for stories of one time window (its day or month lexemes)."""
    return replace(
        c,
        match=f"({c.match}) & {window}",
        loose=f"({c.loose}) & {window}" if c.loose else None,
    )


def _run(
    session: Session,
    c: Compiled,
    *,
    after: Position | None,
    keys: Sequence[int] | None,
    limit: int | None,
) -> list[Row]:
    stmt, params = candidate_sql(c, after=after, keys=keys, limit=limit)
    rows = session.execute(stmt, params).all()
    return [
        Row(int(k), int(sid), bool(v) or int(sid) in c.pending, None if s is None else float(s))
        for k, sid, v, s, _lang in rows
    ]


def time_windows(c: Compiled, after: Position | None) -> Iterator[tuple[str, int]]:
    """(tsquery part, sort key where the window starts) for the last few days, the
    month before, the year before that (PG_*_WINDOWS), going back from the cursor."""
    bounds = [x for x in (after.key if after else None, c.hi) if x is not None]
    if bounds:
        upper = min(bounds) - 1
    elif c.newest is not None:
        upper = int(c.newest)
    else:
        return
    last = datetime.fromtimestamp(seconds_of(upper), UTC).date()
    for days in PG_DAY_WINDOWS:
        first = last - timedelta(days=days - 1)
        labels = [f"{DAY}{first + timedelta(days=i):%Y%m%d}" for i in range(days)]
        yield _any_of(labels), _key_of(first)
        if c.lo is not None and _key_of(first) <= c.lo:
            return
    for months in PG_MONTH_WINDOWS:
        year, month = first.year, first.month
        labels = []
        for _ in range(months):
            labels.append(f"{MONTH}{year:04d}{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        start = _month_after(year, month)  # the first day of the oldest month listed
        yield _any_of(labels), _key_of(start)
        if c.lo is not None and _key_of(start) <= c.lo:
            return
        first = start


def _month_after(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def _key_of(day: date) -> int:
    return sort_key_bound(datetime(day.year, day.month, day.day, tzinfo=UTC))


def _any_of(lexemes: list[str]) -> str:
    return "(" + " | ".join(f"'{x}'" for x in lexemes) + ")"
