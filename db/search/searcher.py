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

from dataclasses import dataclass, replace

from core.query import AliasTable, Document
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from db.events import event_members
from db.models import Cluster, Story
from db.search.analysis import analyze_for
from db.search.candidates import candidates
from db.search.checks import check, collapse
from db.search.compiled import Compiled, Row, compile_request, gin_first
from db.search.request import (
    Position,
    SearchRequest,
    SearchRequestError,
    decode_cursor,
    encode_cursor,
)
from db.search.snippets import Locator, highlight

# Candidates the matcher checks for one page; past it the page ends early with a cursor.
SCAN_BUDGET = 5_000


@dataclass(frozen=True)
class EventSummary:
    """The event of a hit's story, as a result line names it ("also reported by ...")."""

    id: int
    reports: int  # stories in the event, the hit's own included
    outlets: int  # other outlets (sources) that reported it
    languages: tuple[str, ...]  # languages of those other outlets' reports, most frequent first
    lead_id: int | None  # its headline report


@dataclass
class SearchHit:
    story: Story
    source_name: str
    why: list[str]
    title_html: Markup
    snippet_html: Markup
    cluster_size: int
    score: float | None = None
    event: EventSummary | None = None  # None: stored before events, its own event


@dataclass
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None
    exact: bool  # the index alone decided; False: the matcher checked candidates
    examined: int  # candidates looked at for this page
    pending: int = 0  # changed stories not yet in the index (filled by the caller)


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
    gin_first(session, c)
    after = decode_cursor(request.cursor) if request.cursor else None
    if after is not None and c.relevance and after.score is None:
        raise SearchRequestError("this cursor belongs to a newest-first search")
    one_per_event = request.collapse and c.cluster is None
    want = request.limit + 1
    batch = want if c.exact else min(4 * want, 400)
    accepted: list[Row] = []
    examined = 0
    exhausted = False
    position = after
    while len(accepted) < want and examined < SCAN_BUDGET:
        found = candidates(session, c, after=position, limit=batch)
        rows = found.rows
        if not rows:
            if found.stopped_at is None:
                exhausted = True
            else:
                position = Position(found.stopped_at)
            break
        # check in slices no bigger than what is still missing: the matcher is the slow part
        start = 0
        while start < len(rows) and len(accepted) < want:
            chunk = rows[start : start + max(want - len(accepted), 8)]
            start += len(chunk)
            kept = check(session, c, chunk)
            if one_per_event:
                kept = collapse(session, c, kept)
            accepted.extend(kept)
        examined += start
        last = rows[start - 1]
        position = Position(last.key, last.score)
        if len(rows) < batch and start == len(rows):
            if found.stopped_at is None:
                exhausted = True
            else:  # time ran out looking further back: the next page goes on from there
                position = Position(found.stopped_at)
            break
        batch = min(batch * 2, 1000)
    if len(accepted) > request.limit:
        shown = accepted[: request.limit]
        next_cursor: str | None = encode_cursor(Position(shown[-1].key, shown[-1].score))
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


def _hits(session: Session, c: Compiled, rows: list[Row], explain: bool) -> list[SearchHit]:
    if not rows:
        return []
    ids = [r.show for r in rows]
    loaded = session.execute(
        select(Story, Cluster.size)
        .outerjoin(Cluster, Story.cluster_id == Cluster.id)
        .options(joinedload(Story.source))
        .where(Story.id.in_(ids))
    ).all()
    stories = {story.id: story for story, _ in loaded}
    sizes = {story.id: size or 1 for story, size in loaded}
    events = _event_summaries(session, list(stories.values()))
    hits = []
    locator = Locator.of(c.query)
    for row in rows:
        story = stories.get(row.show)
        if story is None:
            continue
        doc = c.documents.get(row.show)
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
                cluster_size=sizes[story.id],
                score=row.score,
                event=events.get(story.id),
            )
        )
    return hits


def _event_summaries(session: Session, stories: list[Story]) -> dict[int, EventSummary]:
    """Each story's event as seen from it, from one read of the page's events' members."""
    wanted = {s.event_id for s in stories if s.event_id is not None}
    members: dict[int, list[tuple[int, int | None, str | None]]] = {}
    leads: dict[int, int | None] = {}
    for event_id, lead, story_id, source_id, language in event_members(
        session=session, event_ids=wanted
    ):
        members.setdefault(event_id, []).append((story_id, source_id, language))
        leads[event_id] = lead
    summaries = {}
    for story in stories:
        if story.event_id is None:
            continue
        found = members.get(story.event_id, [])
        outlets: set[object] = set()
        languages: dict[str, int] = {}
        for story_id, source_id, language in found:
            if story_id == story.id or (source_id is not None and source_id == story.source_id):
                continue
            outlets.add(source_id if source_id is not None else ("story", story_id))
            if language:
                languages[language] = languages.get(language, 0) + 1
        summaries[story.id] = EventSummary(
            id=story.event_id,
            reports=max(len(found), 1),
            outlets=len(outlets),
            languages=tuple(sorted(languages, key=lambda code: (-languages[code], code))),
            lead_id=leads.get(story.event_id),
        )
    return summaries


def scan(
    session: Session,
    request: SearchRequest,
    *,
    aliases: AliasTable | None = None,
    batch: int = 500,
) -> tuple[list[int], str | None]:
    """The next batch of matching story ids after ``request.cursor``, and the cursor after it.

    For exports: each batch can run in its own short transaction. A batch may
    hold fewer than ``batch`` ids (the matcher or the one-per-event rule dropped
    some); with ``collapse`` an event's entry is its headline report when that
    matches too. The cursor is None once the results are exhausted.
    """
    c = compile_request(session, replace(request, limit=1), aliases)
    gin_first(session, c)
    one_per_event = request.collapse and c.cluster is None
    after = decode_cursor(request.cursor) if request.cursor else None
    found = candidates(session, c, after=after, limit=batch)
    rows = found.rows
    kept = check(session, c, rows)
    if one_per_event:
        kept = collapse(session, c, kept)
    ids = [r.show for r in kept]
    if len(rows) < batch:
        if found.stopped_at is None:
            return ids, None
        return ids, encode_cursor(Position(found.stopped_at))
    return ids, encode_cursor(Position(rows[-1].key, rows[-1].score))
