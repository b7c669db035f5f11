"""Archive search: index candidates walked in key order, the matcher where the index is not exact.

The full-text index is keyed by a time-ordered sort key (see
:func:`db.search.tokens.sort_key`), so "newest first", date ranges and
keyset pages are ranges of the index, never sorts of every match. The query
is lowered to index tokens (:mod:`db.search.plan`); when the back-end cannot
express it exactly (phrases on SQLite, long NEARs, a metadata value it
cannot tokenise), each candidate is checked by the topic matcher, so search
and alerts never disagree about what a query means.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from markupsafe import Markup
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session, joinedload

from db.models import Cluster, Source, Story, Topic
from db.search.analysis import KeyFilter, analyze_for
from db.search.plan import NO_MATCH, AllOf, Meta, Plan, has_positions, lower
from db.search.render import Fts5Renderer, TsqueryRenderer
from db.search.snippets import Locator, highlight
from db.search.tokens import (
    DAY,
    LANG,
    MONTH,
    SORT_SHIFT,
    SOURCE,
    clean_value,
    seconds_of,
    sort_key_bound,
)
from wirewatch.errors import NotFoundError, WirewatchError
from wirewatch.query import AliasTable, Document, Query, parse
from wirewatch.query.ast import Field as FieldNode
from wirewatch.query.ast import Node
from wirewatch.query.document import AnalyzedDocument

MAX_LIMIT = 100
# Candidates the matcher checks for one page; past it the page ends early with a cursor.
SCAN_BUDGET = 5_000
# Candidates the matcher checks for counts; past it the counts are lower bounds.
FACET_BUDGET = 2_000
# SQLite bm25 column weights (title, body, meta) and PostgreSQL ts_rank weights {D,C,B,A}.
BM25 = "bm25(search_fts, 4.0, 1.0, 0.0)"
# double precision: a real would come back rounded in text, and keyset cursors compare exactly
TS_RANK = "CAST(ts_rank('{0.2, 0.2, 0.2, 1.0}', d.tsv, CAST(:m AS tsquery)) AS double precision)"
SECONDS_PER_DAY = 86_400
# PostgreSQL newest-first: look in the last days and months before the whole archive.
PG_DAY_WINDOWS = (3, 31)
PG_MONTH_WINDOWS = (12,)

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
    limit: int = 20
    cursor: str | None = None


@dataclass
class SearchHit:
    story: Story
    source_name: str
    why: list[str]
    title_html: Markup
    snippet_html: Markup
    cluster_size: int
    score: float | None = None


@dataclass
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    exact: bool  # the index alone decided; False: the matcher checked candidates
    examined: int  # candidates looked at for this page
    pending: int = 0  # changed stories not yet in the index (filled by the caller)


@dataclass
class Facets:
    total: int
    by_day: list[tuple[date, int]]
    by_language: dict[str, int]
    exact: bool  # False: counted from the first FACET_BUDGET candidates only


@dataclass(frozen=True, slots=True)
class _Row:
    key: int
    story_id: int
    verify: bool
    score: float | None = None


@dataclass
class _Compiled:
    dialect: str
    query: Query | None
    match: str | None
    loose: str | None
    exact: bool
    positional: bool
    relevance: bool
    lo: int | None
    hi: int | None
    topic_id: int | None
    cluster: int | None
    keys: KeyFilter
    pending: frozenset[int] = frozenset()
    documents: dict[int, AnalyzedDocument] = field(default_factory=dict)


# --- compiling a request ----------------------------------------------------------------


def compile_request(
    session: Session, request: SearchRequest, aliases: AliasTable | None = None
) -> _Compiled:
    dialect = session.get_bind().dialect.name
    if not 1 <= request.limit <= MAX_LIMIT:
        raise SearchRequestError(f"limit must be between 1 and {MAX_LIMIT}, not {request.limit}")
    text_query = request.query.strip()
    query = parse(text_query, aliases) if text_query else None
    parts: list[Plan] = []
    if query is not None:
        sources: dict[int, str] = {}
        if _uses_field(query.root, "source"):
            sources = dict(session.execute(select(Source.id, Source.name)).all())
        parts.append(lower(query.root, sources))
    if request.source:
        source_id = session.scalar(select(Source.id).where(Source.name == request.source))
        if source_id is None:
            raise NotFoundError(f"no source named {request.source!r}")
        parts.append(Meta((SOURCE + str(source_id),)))
    if request.language:
        code = request.language.strip().lower()
        code = "tg" if code == "tj" else code
        parts.append(Meta((LANG + code,)) if clean_value(code) else NO_MATCH)
    topic_id = None
    if request.topic:
        topic_id = session.scalar(select(Topic.id).where(Topic.slug == request.topic))
        if topic_id is None:
            raise NotFoundError(f"no topic with slug {request.topic!r}")
    plan: Plan | None = None
    if parts:
        plan = parts[0] if len(parts) == 1 else AllOf(tuple(parts))
    match = loose = None
    exact, positional = True, False
    if plan is not None:
        if dialect == "postgresql":
            rendered = TsqueryRenderer().render(plan)
            positional = has_positions(plan)
            if positional:
                loose = TsqueryRenderer(positions=False).render(plan).expr
        else:
            rendered = Fts5Renderer().render(plan)
        match, exact = rendered.expr, rendered.exact
    lo = sort_key_bound(request.since) if request.since else None
    hi = sort_key_bound(request.until) if request.until else None
    return _Compiled(
        dialect=dialect,
        query=query,
        match=match,
        loose=loose,
        exact=exact,
        positional=positional,
        relevance=request.sort == "relevance" and query is not None and match is not None,
        lo=lo,
        hi=hi,
        topic_id=topic_id,
        cluster=request.cluster,
        keys=KeyFilter.of(query),
        pending=_pending_ids(session),
    )


def _gin_first(session: Session, c: _Compiled) -> None:
    """PostgreSQL: for the rest of this transaction, no plain index scans.

    Otherwise the planner likes to walk the sort-key index newest first and test
    each story's tsvector (a TOAST read per story) until a page is full, which is
    fast only when matches are dense. Bitmap scans let GIN find the matches.
    Other lookups here are by lists of keys, which bitmap scans serve as well.
    """
    if c.dialect == "postgresql" and c.match is not None:
        session.execute(text("SET LOCAL enable_indexscan = off"))


def _uses_field(node: Node, name: str) -> bool:
    if isinstance(node, FieldNode):
        return node.name == name
    children = getattr(node, "children", None)
    if children is not None:
        return any(_uses_field(c, name) for c in children)
    for attr in ("child", "left", "right"):
        child = getattr(node, attr, None)
        if child is not None and _uses_field(child, name):
            return True
    return False


def _pending_ids(session: Session) -> frozenset[int]:
    rows = session.execute(text("SELECT story_id FROM search_queue LIMIT 10000")).scalars()
    return frozenset(rows)


# --- cursors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Position:
    key: int
    score: float | None = None


def encode_cursor(position: _Position) -> str:
    payload: dict[str, Any] = {"k": position.key}
    if position.score is not None:
        payload["s"] = position.score
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> _Position:
    invalid = SearchRequestError("the page cursor is not valid; start again from the first page")
    if len(cursor) > 200:
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
    return _Position(key, float(score) if score is not None else None)


# --- candidate rows ---------------------------------------------------------------------


def _candidate_sql(
    c: _Compiled,
    *,
    after: _Position | None,
    keys: Sequence[int] | None,
    limit: int | None,
    ordered: bool = True,
    only: Literal["sure", "unsure"] | None = None,
) -> tuple[Any, dict[str, Any]]:
    params: dict[str, Any] = {}
    where: list[str] = []
    verify = "0"
    score = "NULL"
    if c.dialect == "postgresql":
        frm, keycol = "search_docs d", "d.sort_key"
        if c.match is not None:
            params["m"] = c.match
            condition = "d.tsv @@ CAST(:m AS tsquery)"
            if c.positional:
                if c.loose is not None:
                    params["ml"] = c.loose
                    extra = "d.tsv @@ CAST(:ml AS tsquery)"
                    condition = f"({condition} OR (NOT d.positions_exact AND {extra}))"
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


def _candidates(
    session: Session,
    c: _Compiled,
    *,
    after: _Position | None = None,
    keys: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[_Row]:
    if c.dialect == "postgresql" and c.match is not None and keys is None:
        if limit is not None and not c.relevance:
            # Newest first: ask GIN for the matches of the last day, week, month...
            # (day and month lexemes) before all of them, so a phrase of common words
            # rechecks the tsvectors of recent stories only. A window that yields a
            # full page holds the page: everything newer than its start was in it.
            for window in _time_windows(session, c, after):
                narrowed = replace(
                    c,
                    match=f"({c.match}) & {window}",
                    loose=f"({c.loose}) & {window}" if c.loose else None,
                )
                rows = _run(session, narrowed, after=after, keys=None, limit=limit)
                if len(rows) >= limit:
                    return rows
        return _run(session, c, after=after, keys=None, limit=limit)
    return _run(session, c, after=after, keys=keys, limit=limit)


def _run(
    session: Session,
    c: _Compiled,
    *,
    after: _Position | None,
    keys: Sequence[int] | None,
    limit: int | None,
) -> list[_Row]:
    stmt, params = _candidate_sql(c, after=after, keys=keys, limit=limit)
    rows = session.execute(stmt, params).all()
    return [
        _Row(int(k), int(sid), bool(v) or int(sid) in c.pending, None if s is None else float(s))
        for k, sid, v, s, _lang in rows
    ]


def _time_windows(session: Session, c: _Compiled, after: _Position | None) -> Iterator[str]:
    """tsquery parts for the last few days, a month, a year before the cursor (PG_*_WINDOWS)."""
    bounds = [x for x in (after.key if after else None, c.hi) if x is not None]
    if bounds:
        upper = min(bounds) - 1
    else:
        newest = session.execute(text("SELECT max(sort_key) FROM search_docs")).scalar()
        if newest is None:
            return
        upper = int(newest)
    last = datetime.fromtimestamp(seconds_of(upper), UTC).date()
    floor = datetime.fromtimestamp(seconds_of(c.lo), UTC).date() if c.lo is not None else None
    for days in PG_DAY_WINDOWS:
        first = last - timedelta(days=days - 1)
        yield _any_of([f"{DAY}{last - timedelta(days=i):%Y%m%d}" for i in range(days)])
        if floor is not None and first <= floor:
            return
    for months in PG_MONTH_WINDOWS:
        labels = []
        year, month = last.year, last.month
        for _ in range(months):
            labels.append(f"{MONTH}{year:04d}{month:02d}")
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        yield _any_of(labels)
        if floor is not None and date(year, month, 1) <= floor:
            return


def _any_of(lexemes: list[str]) -> str:
    return "(" + " | ".join(f"'{x}'" for x in lexemes) + ")"


# --- checking candidates with the matcher -------------------------------------------------


def _documents(
    session: Session, ids: Sequence[int], keys: KeyFilter
) -> dict[int, AnalyzedDocument]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            Story.id,
            Story.title,
            Story.body,
            Story.summary,
            Story.language,
            Source.name,
            Story.canonical_url,
        )
        .outerjoin(Source, Story.source_id == Source.id)
        .where(Story.id.in_(ids))
    ).all()
    return {
        sid: analyze_for(
            Document(title=title or "", text=body or summary or "", lang=lang, source=src, url=url),
            keys,
        )
        for sid, title, body, summary, lang, src, url in rows
    }


def _check(session: Session, c: _Compiled, rows: list[_Row]) -> list[_Row]:
    """Rows the matcher confirms (rows the index decided pass as they are)."""
    unsure = [r.story_id for r in rows if r.verify and r.story_id not in c.documents]
    c.documents.update(_documents(session, unsure, c.keys))
    accepted = []
    for row in rows:
        if not row.verify:
            accepted.append(row)
            continue
        doc = c.documents.get(row.story_id)
        if doc is None:  # deleted, not yet removed from the index
            continue
        if c.query is None or c.query.matches(doc):
            accepted.append(row)
    return accepted


def _collapse(session: Session, c: _Compiled, rows: list[_Row]) -> list[_Row]:
    """Keep a story only when no newer story of its cluster matches too (one entry per cluster)."""
    if not rows:
        return rows
    ids = [r.story_id for r in rows]
    cluster_of: dict[int, int] = {
        sid: cid
        for sid, cid in session.execute(
            select(Story.id, Story.cluster_id).where(
                Story.id.in_(ids), Story.cluster_id.isnot(None)
            )
        )
        if cid is not None
    }
    if not cluster_of:
        return rows
    members: dict[int, list[int]] = {}
    # two lookups by key rather than a join: plain index scans may be off (PostgreSQL)
    member_cluster = dict(
        session.execute(
            select(Story.id, Story.cluster_id).where(
                Story.cluster_id.in_(sorted(set(cluster_of.values())))
            )
        ).all()
    )
    if len(member_cluster) > len(cluster_of):
        keys_of = session.execute(
            text("SELECT story_id, sort_key FROM search_docs WHERE story_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": sorted(member_cluster)},
        )
        for sid, key in keys_of:
            members.setdefault(int(member_cluster[sid]), []).append(int(key))
    newer = {
        r.key: [k for k in members.get(cluster_of[r.story_id], []) if k > r.key]
        for r in rows
        if r.story_id in cluster_of
    }
    wanted = sorted({k for keys in newer.values() for k in keys})
    if not wanted:
        return rows
    matching = {r.key for r in _check(session, c, _candidates(session, c, keys=wanted))}
    return [r for r in rows if not any(k in matching for k in newer.get(r.key, ()))]


# --- pages ----------------------------------------------------------------------------------


def search(
    session: Session,
    request: SearchRequest,
    *,
    aliases: AliasTable | None = None,
    explain: bool = False,
) -> SearchPage:
    """One page of stories matching the request (raises QueryError, NotFoundError, SearchRequestError).

    ``explain`` fills each hit's ``why`` (the terms that matched, as topic alerts show them).
    """
    c = compile_request(session, request, aliases)
    _gin_first(session, c)
    after = decode_cursor(request.cursor) if request.cursor else None
    if after is not None and c.relevance and after.score is None:
        raise SearchRequestError("this cursor belongs to a newest-first search")
    collapse = request.collapse and c.cluster is None
    want = request.limit + 1
    batch = want if c.exact else min(4 * want, 400)
    accepted: list[_Row] = []
    examined = 0
    exhausted = False
    position = after
    while len(accepted) < want and examined < SCAN_BUDGET:
        rows = _candidates(session, c, after=position, limit=batch)
        if not rows:
            exhausted = True
            break
        # check in slices no bigger than what is still missing: the matcher is the slow part
        start = 0
        while start < len(rows) and len(accepted) < want:
            chunk = rows[start : start + max(want - len(accepted), 8)]
            start += len(chunk)
            kept = _check(session, c, chunk)
            if collapse:
                kept = _collapse(session, c, kept)
            accepted.extend(kept)
        examined += start
        last = rows[start - 1]
        position = _Position(last.key, last.score)
        if len(rows) < batch and start == len(rows):
            exhausted = True
            break
        batch = min(batch * 2, 1000)
    if len(accepted) > request.limit:
        shown = accepted[: request.limit]
        next_cursor: str | None = encode_cursor(_Position(shown[-1].key, shown[-1].score))
    else:
        shown = accepted
        next_cursor = None if exhausted or position is None else encode_cursor(position)
    return SearchPage(
        hits=_hits(session, c, shown, explain),
        next_cursor=next_cursor,
        exact=c.exact and not c.positional,
        examined=examined,
        pending=len(c.pending),
    )


def _hits(session: Session, c: _Compiled, rows: list[_Row], explain: bool) -> list[SearchHit]:
    if not rows:
        return []
    ids = [r.story_id for r in rows]
    stories = {
        s.id: s
        for s in session.scalars(
            select(Story).options(joinedload(Story.source)).where(Story.id.in_(ids))
        )
    }
    cluster_ids = {s.cluster_id for s in stories.values() if s.cluster_id is not None}
    sizes = (
        dict(
            session.execute(
                select(Cluster.id, Cluster.size).where(Cluster.id.in_(cluster_ids))
            ).all()
        )
        if cluster_ids
        else {}
    )
    hits = []
    locator = Locator.of(c.query)
    for row in rows:
        story = stories.get(row.story_id)
        if story is None:
            continue
        doc = c.documents.get(row.story_id)
        cut_before = cut_after = False
        if doc is None:
            text_ = story.body or story.summary or ""
            if not explain:  # only the part a snippet can show is analysed
                text_, cut_before, cut_after = locator.window(text_)
            document = Document(
                title=story.title or "",
                text=text_,
                lang=story.language,
                source=story.source.name if story.source else None,
                url=story.canonical_url,
            )
            doc = analyze_for(document, c.keys)
        title_html, snippet_html = highlight(
            c.query, doc, cut_before=cut_before, cut_after=cut_after
        )
        why = c.query.match(doc).why if explain and c.query is not None else []
        hits.append(
            SearchHit(
                story=story,
                source_name=story.source.name if story.source else "",
                why=why,
                title_html=title_html,
                snippet_html=snippet_html,
                cluster_size=sizes.get(story.cluster_id, 1) if story.cluster_id else 1,
                score=row.score,
            )
        )
    return hits


def scan(
    session: Session,
    request: SearchRequest,
    *,
    aliases: AliasTable | None = None,
    batch: int = 500,
) -> tuple[list[int], str | None]:
    """The next batch of matching story ids after ``request.cursor``, and the cursor after it.

    For exports: each batch can run in its own short transaction. A batch may
    hold fewer than ``batch`` ids (the matcher or the cluster rule dropped
    some); the cursor is None once the results are exhausted.
    """
    c = compile_request(session, replace(request, limit=1), aliases)
    _gin_first(session, c)
    collapse = request.collapse and c.cluster is None
    after = decode_cursor(request.cursor) if request.cursor else None
    rows = _candidates(session, c, after=after, limit=batch)
    kept = _check(session, c, rows)
    if collapse:
        kept = _collapse(session, c, kept)
    if len(rows) < batch:
        return [r.story_id for r in kept], None
    return [r.story_id for r in kept], encode_cursor(_Position(rows[-1].key, rows[-1].score))


# --- counts ---------------------------------------------------------------------------------


def facets(
    session: Session, request: SearchRequest, *, aliases: AliasTable | None = None
) -> Facets:
    """How many stories match, per day (UTC) and per language; stories, not clusters."""
    c = compile_request(session, request, aliases)
    _gin_first(session, c)
    c.relevance = False
    by_day: dict[date, int] = {}
    by_lang: dict[str, int] = {}
    exact = True
    if c.exact:
        stmt, params = _candidate_sql(
            c, after=None, keys=None, limit=None, ordered=False, only="sure"
        )
        grouped = text(
            f"SELECT k / {1 << SORT_SHIFT} / {SECONDS_PER_DAY} AS day, lang, count(*) "
            f"FROM ({stmt.text}) AS m GROUP BY day, lang"
        )
        for day, lang, count in session.execute(grouped, params):
            _add(by_day, by_lang, int(day), lang, int(count))
    if not c.exact or c.positional:
        only: Literal["unsure"] | None = "unsure" if c.exact else None
        checked = 0
        position: _Position | None = None
        while True:
            stmt, params = _candidate_sql(c, after=position, keys=None, limit=500, only=only)
            rows = session.execute(stmt, params).all()
            if not rows:
                break
            if checked + len(rows) > FACET_BUDGET:
                rows = rows[: FACET_BUDGET - checked]
                exact = False
            checked += len(rows)
            candidates = [_Row(int(k), int(sid), True) for k, sid, _v, _s, _lang in rows]
            langs = {int(k): lang for k, _sid, _v, _s, lang in rows}
            kept = _check(session, c, candidates)
            c.documents.clear()
            for row in kept:
                day = (row.key >> SORT_SHIFT) // SECONDS_PER_DAY
                _add(by_day, by_lang, day, langs.get(row.key), 1)
            if not exact or len(rows) < 500:
                break
            position = _Position(int(rows[-1][0]))
    days = sorted(by_day.items())
    return Facets(sum(by_lang.values()), days, dict(sorted(by_lang.items())), exact)


def _add(
    by_day: dict[date, int], by_lang: dict[str, int], day: int, lang: str | None, n: int
) -> None:
    when = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date()
    by_day[when] = by_day.get(when, 0) + n
    code = lang or ""
    by_lang[code] = by_lang.get(code, 0) + n
