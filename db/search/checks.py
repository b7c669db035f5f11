"""Candidates the index could not decide, checked by the topic matcher; one entry per cluster."""

from __future__ import annotations

from collections.abc import Sequence

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


_CLUSTER_MEMBERS = text(
    "SELECT m.id, m.cluster_id, d.sort_key FROM stories m "
    "JOIN search_docs d ON d.story_id = m.id "
    "WHERE m.cluster_id IN (SELECT cluster_id FROM stories WHERE id IN :ids)"
).bindparams(bindparam("ids", expanding=True))


def collapse(session: Session, c: Compiled, rows: list[Row]) -> list[Row]:
    """Keep a story only when no newer story of its cluster matches too (one entry per cluster)."""
    if not rows:
        return rows
    # One statement: every member of the rows' clusters, with its place in time.
    # Each row's own story is a member of its cluster, so this also says which
    # cluster each row is in. With plain index scans off (PostgreSQL) the
    # planner still looks each part up by key, through bitmap scans.
    members_of = session.execute(_CLUSTER_MEMBERS, {"ids": [r.story_id for r in rows]})
    cluster_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for sid, cid, key in members_of:
        cluster_of[int(sid)] = int(cid)
        members.setdefault(int(cid), []).append(int(key))
    newer = {
        r.key: [k for k in members.get(cluster_of[r.story_id], []) if k > r.key]
        for r in rows
        if r.story_id in cluster_of
    }
    wanted = sorted({k for keys in newer.values() for k in keys})
    if not wanted:
        return rows
    matching = {r.key for r in check(session, c, candidates(session, c, keys=wanted).rows)}
    return [r for r in rows if not any(k in matching for k in newer.get(r.key, ()))]
