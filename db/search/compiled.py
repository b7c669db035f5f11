"""A request turned into what the database runs: index expressions, bounds, filters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.across import across_languages
from core.errors import NotFoundError
from core.query import AliasTable, Query, parse
from core.query.ast import Field as FieldNode
from core.query.ast import Node
from core.query.document import AnalyzedDocument
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.models import Source, Topic
from db.search.analysis import KeyFilter
from db.search.plan import NO_MATCH, AllOf, Meta, Plan, has_positions, lower
from db.search.render import Fts5Renderer, TsqueryRenderer
from db.search.request import MAX_LIMIT, SearchRequest, SearchRequestError
from db.search.tokens import LANG, SOURCE, clean_value, sort_key_bound

# Below this many stories PostgreSQL searches the whole index at once (see candidates).
PG_WINDOW_MIN_STORIES = 20_000
# PostgreSQL newest-first: time a page may spend looking further back in time
# windows before it ends early with a cursor where it stopped.
PG_WINDOW_BUDGET = 0.02  # seconds
# PostgreSQL refuses a tsquery whose operand text passes 1 MB ("value is too big in
# tsquery"). A long query with NEAR, rendered with every distance spelled out, gets
# there (the default topic's does). The rendered text, operators included, bounds
# the operand text from above, so a query under this size is always accepted.
PG_TSQUERY_MAX_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Row:
    key: int
    story_id: int
    verify: bool
    score: float | None = None
    # One entry per event: the story the entry shows, when not this one (the event's
    # lead report, which matches too). The row's own key still places the entry.
    shown: int | None = None

    @property
    def show(self) -> int:
        return self.story_id if self.shown is None else self.shown


@dataclass
class Compiled:
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
    # PostgreSQL: the newest and oldest sort keys (where time windows start and end),
    # and whether the archive is big enough for windows to pay.
    newest: int | None = None
    oldest: int | None = None
    windows: bool = False
    # PostgreSQL newest-first: when looking further back stops for this search
    # (time.monotonic()), shared by every candidate round of one page.
    window_deadline: float | None = None
    documents: dict[int, AnalyzedDocument] = field(default_factory=dict)


def compile_request(
    session: Session, request: SearchRequest, aliases: AliasTable | None = None
) -> Compiled:
    dialect = session.get_bind().dialect.name
    if not 1 <= request.limit <= MAX_LIMIT:
        raise SearchRequestError(f"limit must be between 1 and {MAX_LIMIT}, not {request.limit}")
    text_query = request.query.strip()
    query = parse(text_query, aliases) if text_query else None
    if query is not None and request.across:
        query = across_languages(query, aliases)
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
        if dialect == "postgresql" and match is not None and _too_big(match):
            # The index answers the query without its word distances (or, too big
            # as well, not at all) and the matcher checks every candidate.
            match = loose if loose is not None and not _too_big(loose) else None
            exact, positional, loose = False, False, None
    lo = sort_key_bound(request.since) if request.since else None
    hi = sort_key_bound(request.until) if request.until else None
    return Compiled(
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


_BOUNDS_THEN_GIN = text(
    "SELECT (SELECT min(sort_key) FROM search_docs), "
    "(SELECT max(sort_key) FROM search_docs), "
    "(SELECT reltuples FROM pg_class WHERE oid = 'search_docs'::regclass), "
    "set_config('enable_indexscan', 'off', true)"
)


def gin_first(session: Session, c: Compiled) -> None:
    """PostgreSQL: for the rest of this transaction, no plain index scans.

    Otherwise the planner likes to walk the sort-key index newest first and test
    each story's tsvector (a TOAST read per story) until a page is full, which is
    fast only when matches are dense. Bitmap scans let GIN find the matches.
    Other lookups here are by lists of keys, which bitmap scans serve as well.
    """
    if c.dialect == "postgresql" and c.match is not None:
        # min() and max() need the plain index scan this turns off: the statement
        # is planned before set_config runs, so it turns it off for the next ones.
        c.oldest, c.newest, size, _ = session.execute(_BOUNDS_THEN_GIN).one()
        c.windows = (size or 0) >= PG_WINDOW_MIN_STORIES
        c.window_deadline = time.monotonic() + PG_WINDOW_BUDGET


def _too_big(tsquery: str) -> bool:
    return len(tsquery.encode("utf-8")) > PG_TSQUERY_MAX_BYTES


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
