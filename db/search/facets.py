"""Counts for a search: per day and per language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.search.candidates import candidate_sql
from db.search.checks import check
from db.search.compiled import Compiled, Row, compile_request, gin_first
from db.search.request import SearchRequest
from db.search.tokens import SORT_SHIFT
from wirewatch.query import AliasTable

# Candidates the matcher checks for counts; past it they are counted unchecked.
FACET_CHECK = 300
SECONDS_PER_DAY = 86_400


@dataclass
class Facets:
    total: int
    by_day: list[tuple[date, int]]
    by_language: dict[str, int]
    # False: more than FACET_CHECK candidates needed the matcher; they are counted
    # unchecked, so the counts are an upper bound.
    exact: bool


def facets(
    session: Session, request: SearchRequest, *, aliases: AliasTable | None = None
) -> Facets:
    """How many stories match, per day (UTC) and per language; stories, not clusters.

    Counted by the database: candidates the index decides exactly are counted
    as they are; the others are checked by the matcher when there are few,
    else counted unchecked (an upper bound, ``exact=False``).
    """
    c = compile_request(session, request, aliases)
    gin_first(session, c)
    c.relevance = False
    stmt, params = candidate_sql(c, after=None, keys=None, limit=None, ordered=False)
    grouped = text(
        f"SELECT k / {1 << SORT_SHIFT} / {SECONDS_PER_DAY} AS day, lang, v, count(*) "
        f"FROM ({stmt.text}) AS m GROUP BY day, lang, v"
    )
    sure: list[tuple[int, str | None, int]] = []
    unsure: list[tuple[int, str | None, int]] = []
    for day, lang, verify, count in session.execute(grouped, params):
        (unsure if verify else sure).append((int(day), lang, int(count)))
    unsure_total = sum(n for _, _, n in unsure)
    exact = unsure_total == 0
    if 0 < unsure_total <= FACET_CHECK:
        unsure = _checked(session, c)
        exact = True
    by_day: dict[date, int] = {}
    by_lang: dict[str, int] = {}
    for day, lang, count in sure + unsure:
        _add(by_day, by_lang, day, lang, count)
    return Facets(
        sum(by_lang.values()), sorted(by_day.items()), dict(sorted(by_lang.items())), exact
    )


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
