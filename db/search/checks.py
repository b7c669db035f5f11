"""Candidates the index could not decide, checked by the topic matcher; one entry per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.query import Document
from core.query.document import AnalyzedDocument
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from db.models import Source, Story
from db.search.analysis import KeyFilter, analyze_for
from db.search.candidates import candidates
from db.search.compiled import Compiled, Row


def documents(session: Session, ids: Sequence[int], keys: KeyFilter) -> dict[int, AnalyzedDocument]:
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


def check(session: Session, c: Compiled, rows: list[Row]) -> list[Row]:
    """Rows the matcher confirms (rows the index decided pass as they are)."""
    unsure = [r.story_id for r in rows if r.verify and r.story_id not in c.documents]
    c.documents.update(documents(session, unsure, c.keys))
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


# Every indexed member of the rows' groups, with its place in time: the members of
# their events, and for stories stored before events (no event) the members of
# their near-duplicate cluster that have no event either. Each row's own story
# is a member of its group, so this also says which group each row is in.
_GROUP_MEMBERS = text(
    "SELECT m.id, m.event_id, NULL AS cluster_id, d.sort_key, e.lead_story_id "
    "FROM stories m JOIN search_docs d ON d.story_id = m.id "
    "JOIN events e ON e.id = m.event_id "
    "WHERE m.event_id IN (SELECT event_id FROM stories WHERE id IN :ids) "
    "UNION ALL "
    "SELECT m.id, NULL, m.cluster_id, d.sort_key, NULL "
    "FROM stories m JOIN search_docs d ON d.story_id = m.id "
    "WHERE m.event_id IS NULL AND m.cluster_id IN "
    "(SELECT cluster_id FROM stories WHERE id IN :ids AND event_id IS NULL)"
).bindparams(bindparam("ids", expanding=True))

Group = tuple[str, int]


def collapse(session: Session, c: Compiled, rows: list[Row]) -> list[Row]:
    """One entry per event: keep a row only when no newer story of its event matches too.

    A story stored before events (no event) stands with its near-duplicate
    cluster instead, or alone. A kept row shows its event's lead report when
    that matches the search too (``Row.shown``); otherwise the row's own story.
    """
    if not rows:
        return rows
    # One statement for the members; with plain index scans off (PostgreSQL) the
    # planner still looks each part up by key, through bitmap scans.
    found = session.execute(_GROUP_MEMBERS, {"ids": [r.story_id for r in rows]})
    group_of: dict[int, Group] = {}
    members: dict[Group, list[int]] = {}
    key_of: dict[int, int] = {}
    lead_of: dict[Group, int] = {}
    for sid, eid, cid, key, lead in found:
        group: Group = ("event", int(eid)) if eid is not None else ("cluster", int(cid))
        group_of[int(sid)] = group
        members.setdefault(group, []).append(int(key))
        key_of[int(sid)] = int(key)
        if lead is not None:
            lead_of[group] = int(lead)
    newer = {
        r.key: [k for k in members.get(group_of[r.story_id], []) if k > r.key]
        for r in rows
        if r.story_id in group_of
    }
    leads = {
        r.key: key_of[lead]
        for r in rows
        if (lead := lead_of.get(group_of.get(r.story_id, ("", 0)))) is not None
        and lead != r.story_id
        and lead in key_of
    }
    wanted = sorted({k for keys in newer.values() for k in keys} | set(leads.values()))
    if not wanted:
        return rows
    matching = {
        r.key: r.story_id for r in check(session, c, candidates(session, c, keys=wanted).rows)
    }
    kept = []
    for r in rows:
        if any(k in matching for k in newer.get(r.key, ())):
            continue
        lead = matching.get(leads.get(r.key, -1))
        kept.append(r if lead is None else replace(r, shown=lead))
    return kept
