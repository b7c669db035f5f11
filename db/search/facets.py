"""Counts for a search: per day and per language, newest first within a time budget.

Counting means visiting every match, which for a phrase of common words on a
big PostgreSQL archive is every story holding the words (a tsvector read
each): seconds at a million stories. So on PostgreSQL the counts go back in
time as the result pages do (the last days, then months, then the rest) and
stop when FACET_BUDGET is spent; the answer then says from which day on it
counted (``since``), and the search page says so. SQLite walks its index in
time order and counts a million stories within a few hundred milliseconds,
so it always counts everything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from core.query import AliasTable
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.search.candidates import candidate_sql, time_windows, within
from db.search.checks import check
from db.search.compiled import Compiled, Row, compile_request, gin_first
from db.search.request import SearchRequest
from db.search.tokens import SORT_SHIFT, seconds_of

# Candidates the matcher checks for counts; past it they are counted unchecked.
FACET_CHECK = 300
SECONDS_PER_DAY = 86_400
# PostgreSQL: time the counts may take before older stories are left uncounted.
FACET_BUDGET = 0.25  # seconds
# Of which counting the whole search at once may take this share before windows are tried.
WHOLE_SHARE = 0.4


@dataclass
class Facets:
    total: int
    by_day: list[tuple[date, int]]
    by_language: dict[str, int]
    # False: more than FACET_CHECK candidates needed the matcher; they are counted
    # unchecked, so the counts are an upper bound.
    exact: bool
    # None: every match was counted. A day: only matches from that day (UTC) on
    # were, the time budget ran out before older ones (PostgreSQL).
    since: date | None = None


def facets(
    session: Session,
    request: SearchRequest,
    *,
    aliases: AliasTable | None = None,
    budget: float | None = FACET_BUDGET,
) -> Facets:
    """How many stories match, per day (UTC) and per language; stories, not clusters.

    Counted by the database: candidates the index decides exactly are counted
    as they are; the others are checked by the matcher when there are few,
    else counted unchecked (an upper bound, ``exact=False``). ``budget``
    (seconds, PostgreSQL) bounds the time spent; None counts everything.
    """
    c = compile_request(session, request, aliases)
    gin_first(session, c)
    c.relevance = False
    counted, since = _count(session, c, budget)
    sure: list[tuple[int, str | None, int]] = []
    unsure: list[tuple[int, str | None, int]] = []
    for day, lang, verify, count in counted:
        (unsure if verify else sure).append((int(day), lang, int(count)))
    unsure_total = sum(n for _, _, n in unsure)
    exact = unsure_total == 0
    if 0 < unsure_total <= FACET_CHECK and since is None:
        unsure = _checked(session, c)
        exact = True
    by_day: dict[date, int] = {}
    by_lang: dict[str, int] = {}
    for day, lang, count in sure + unsure:
        _add(by_day, by_lang, day, lang, count)
    return Facets(
        sum(by_lang.values()), sorted(by_day.items()), dict(sorted(by_lang.items())), exact, since
    )


def _count(session: Session, c: Compiled, budget: float | None) -> tuple[list[Any], date | None]:
    """Grouped count rows, and the day they start from when time ran out (None: all counted)."""
    windowed = c.dialect == "postgresql" and c.match is not None and c.windows
    if budget is None or not windowed:
        return _grouped(session, c, None) or [], None
    deadline = time.monotonic() + budget
    # Most searches count whole in a few milliseconds: try that first, for part
    # of the budget; windows only for the ones that would not finish in time.
    whole = _grouped(session, c, budget * WHOLE_SHARE)
    if whole is not None:
        return whole, None
    rows: list[Any] = []
    for number, (part, upper) in enumerate(_windows(c)):
        # the first window (the last few days) is always counted
        counted = _grouped(session, part, None if number == 0 else deadline - time.monotonic())
        if counted is None:  # out of time: what is counted is everything from `upper` on
            return rows, datetime.fromtimestamp(seconds_of(upper), UTC).date()
        rows += counted
    return rows, None


def _windows(c: Compiled) -> Iterator[tuple[Compiled, int]]:
    """The search cut into the result pages' time windows, newest first, then the rest:
    (part, key where the part ends). Day and month lexemes let GIN read only a
    window's stories; each part is also bounded by key, as windows of months
    start with days already counted."""
    upper = c.hi if c.hi is not None else _NO_END
    for window, floor in time_windows(c, None):
        yield replace(within(c, window), hi=upper), upper
        upper = floor
        if (c.lo is not None and floor <= c.lo) or (c.oldest is not None and floor <= c.oldest):
            return
    yield replace(c, hi=upper), upper


def _grouped(session: Session, c: Compiled, seconds: float | None) -> list[Any] | None:
    """(day, language, needs the matcher, count) rows of one part; None when out of time.

    ``seconds`` (PostgreSQL only) is enforced by a statement timeout.
    """
    stmt, params = candidate_sql(c, after=None, keys=None, limit=None, ordered=False)
    grouped = text(
        f"SELECT k / {1 << SORT_SHIFT} / {SECONDS_PER_DAY} AS day, lang, v, count(*) "
        f"FROM ({stmt.text}) AS m GROUP BY day, lang, v"
    )
    if seconds is None:
        return list(session.execute(grouped, params))
    if seconds <= 0:
        return None
    try:
        with session.begin_nested():
            # Undone with the savepoint when it fires, reset below when it does not.
            session.execute(_TIMEOUT, {"ms": str(max(int(seconds * 1000), 1))})
            rows = list(session.execute(grouped, params))
            session.execute(_TIMEOUT, {"ms": "0"})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _QUERY_CANCELED:
            raise
        return None
    return rows


_TIMEOUT = text("SELECT set_config('statement_timeout', :ms, true)")
_QUERY_CANCELED = "57014"
_NO_END = 1 << 62  # a sort key above every story's


def _checked(session: Session, c: Compiled) -> list[tuple[int, str | None, int]]:
    """The candidates that need the matcher (few), checked: (day, language, 1) each."""
    only: Literal["unsure"] | None = "unsure" if c.exact else None
    stmt, params = candidate_sql(c, after=None, keys=None, limit=FACET_CHECK + 1, only=only)
    rows = session.execute(stmt, params).all()
    langs = {int(k): lang for k, _sid, _v, _s, lang in rows}
    candidates = [Row(int(k), int(sid), True) for k, sid, v, _s, _lang in rows if v]
    kept = check(session, c, candidates)
    return [((r.key >> SORT_SHIFT) // SECONDS_PER_DAY, langs.get(r.key), 1) for r in kept]


def _add(
    by_day: dict[date, int], by_lang: dict[str, int], day: int, lang: str | None, n: int
) -> None:
    when = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date()
    by_day[when] = by_day.get(when, 0) + n
    code = lang or ""
    by_lang[code] = by_lang.get(code, 0) + n
