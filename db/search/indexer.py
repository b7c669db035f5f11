"""Drain the search queue: analyse changed stories in Python and write their index entries.

Triggers put every inserted, changed or deleted story in ``search_queue``
(see :mod:`db.search.schema`). Analysis uses the topic matcher's own code, so
the index holds exactly the keys the matcher compares. Draining is
idempotent and safe to run from several processes: SQLite serialises
writers, and PostgreSQL queue rows are claimed with ``FOR UPDATE``, so a
second indexer (a search about to run) waits for the first to commit rather
than running ahead of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from core.query.document import AnalyzedDocument, Document, analyze_document
from sqlalchemy import BindParameter, Connection, bindparam, func, select, text
from sqlalchemy.orm import Session

from db.models import Story
from db.search import schema
from db.search.tokens import DAY, MONTH, StoryTokens, seconds_of, sort_key, story_tokens

log = logging.getLogger(__name__)

# Bump when tokens change (stemmers, markers, analysis): the index is then rebuilt.
# Per dialect, since each stores its own form of the tokens.
ANALYZER_VERSIONS = {"sqlite": "2", "postgresql": "3"}
_VERSION_KEY = "analyzer_version"

# PostgreSQL limits: positions up to 16383, 256 positions per lexeme, 1 MB per tsvector.
PG_MAX_POSITION = 16383
PG_MAX_POSITIONS_PER_LEXEME = 256
PG_MAX_TSVECTOR_CHARS = 900_000
# Title and text positions are this far apart, so NEAR never joins the two.
PG_ZONE_GAP = 12

BATCH = 500


@dataclass(frozen=True)
class SyncResult:
    indexed: int
    remaining: int
    rebuilt: bool = False


@dataclass(frozen=True, slots=True)
class _StoryRow:
    id: int
    title: str
    body: str
    summary: str
    language: str | None
    source_id: int | None
    canonical_url: str
    published_at: datetime | None
    fetched_at: datetime

    def tokens(self, analysed: Mapping[int, AnalyzedDocument] | None = None) -> StoryTokens:
        return tokens_of(
            self.title,
            self.body,
            self.summary,
            self.language,
            self.source_id,
            self.canonical_url,
            analysed=analysed.get(self.id) if analysed else None,
        )

    @property
    def when(self) -> datetime:
        return self.published_at or self.fetched_at


def tokens_of(
    title: str | None,
    body: str | None,
    summary: str | None,
    language: str | None,
    source_id: int | None,
    url: str | None,
    *,
    analysed: AnalyzedDocument | None = None,
) -> StoryTokens:
    """The index tokens of a story as the matcher would analyse it.

    ``analysed`` is the matcher's own analysis of the story, used when it was
    made from this very text (the source's name aside: no index token reads
    it), so a story just matched is not analysed a second time.
    """
    document = Document(title=title or "", text=body or summary or "", lang=language, url=url)
    if analysed is None or replace(analysed.document, source=None) != document:
        analysed = analyze_document(document)
    return story_tokens(analysed, source_id)


def pending_count(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM search_queue")).scalar_one())


def sync(session: Session, *, limit: int = 2000) -> SyncResult:
    """Index up to ``limit`` queued stories in the caller's transaction (the caller commits).

    Rebuilds everything instead when the analyser changed since the index was
    built, or when the triggers had gone missing (the index may have missed
    changes), or when an entry cannot be replaced incrementally.
    """
    conn = session.connection()
    if schema.ensure_triggers(conn) or _stored_version(conn) != _version(conn):
        log.warning("search index out of date (triggers or analyser changed): rebuilding")
        return SyncResult(rebuild(conn), 0, rebuilt=True)
    indexed = 0
    try:
        while indexed < limit:
            done = _drain_batch(conn, min(BATCH, limit - indexed))
            if not done:
                break
            indexed += done
    except IndexOutOfStep as exc:
        log.warning("search index out of step (%s): rebuilding", exc)
        return SyncResult(rebuild(conn), 0, rebuilt=True)
    return SyncResult(indexed, pending_count(session))


def index_analysed(session: Session, analysed: Mapping[int, AnalyzedDocument]) -> int:
    """Index these queued stories now, from analyses already made (the matcher's).

    Matching and indexing then analyse a story once between them. Only the
    given stories are indexed, in the caller's transaction, and nothing at all
    when the index needs a rebuild: that is left to :func:`sync`, whose callers
    expect its cost. Returns how many queued stories were indexed.
    """
    if not analysed:
        return 0
    conn = session.connection()
    if schema.missing_triggers(conn) or _stored_version(conn) != _version(conn):
        return 0
    try:
        return _drain_batch(conn, len(analysed), only=sorted(analysed), analysed=analysed)
    except IndexOutOfStep as exc:
        # Entries already removed stay queued, so the next sync indexes them again.
        log.warning("search index out of step (%s): left for the next sync", exc)
        return 0


def _stored_version(conn: Connection) -> str | None:
    return conn.execute(
        text("SELECT value FROM search_meta WHERE key = :k"), {"k": _VERSION_KEY}
    ).scalar()


def _version(conn: Connection) -> str:
    return ANALYZER_VERSIONS[conn.dialect.name]


def _set_version(conn: Connection) -> None:
    conn.execute(text("DELETE FROM search_meta WHERE key = :k"), {"k": _VERSION_KEY})
    conn.execute(
        text("INSERT INTO search_meta (key, value) VALUES (:k, :v)"),
        {"k": _VERSION_KEY, "v": _version(conn)},
    )


def _load(conn: Connection, ids: Sequence[int]) -> dict[int, _StoryRow]:
    if not ids:
        return {}
    cols = (
        Story.id,
        Story.title,
        Story.body,
        Story.summary,
        Story.language,
        Story.source_id,
        Story.canonical_url,
        Story.published_at,
        Story.fetched_at,
    )
    rows = conn.execute(select(*cols).where(Story.id.in_(ids))).all()
    return {row[0]: _StoryRow(*row) for row in rows}


def _drain_batch(
    conn: Connection,
    size: int,
    *,
    only: Sequence[int] | None = None,
    analysed: Mapping[int, AnalyzedDocument] | None = None,
) -> int:
    """Index up to ``size`` queued stories (of ``only``, when given) and dequeue them."""
    which = "" if only is None else "WHERE story_id IN :only "
    params: dict[str, Any] = {"n": size}
    if only is not None:
        params["only"] = tuple(only)
    if conn.dialect.name == "postgresql":
        claimed = conn.execute(
            text(
                f"SELECT story_id, seq FROM search_queue {which}"
                "ORDER BY story_id LIMIT :n FOR UPDATE"
            ).bindparams(*_expanding(only)),
            params,
        ).all()
        if not claimed:
            return 0
        stories = _load(conn, [row[0] for row in claimed])
        ids = [row[0] for row in claimed]
        conn.execute(text("DELETE FROM search_docs WHERE story_id = ANY(:ids)"), {"ids": ids})
        _pg_insert(conn, [stories[i] for i in ids if i in stories], analysed)
        _dequeue(conn, [(row[0], row[1]) for row in claimed])
        return len(claimed)
    queued = conn.execute(
        text(
            "SELECT story_id, seq, has_old, old_title, old_body, old_summary, old_language, "
            f"old_source_id, old_url FROM search_queue {which}ORDER BY story_id LIMIT :n"
        ).bindparams(*_expanding(only)),
        params,
    ).all()
    if not queued:
        return 0
    stories = _load(conn, [row[0] for row in queued])
    for row in queued:
        _sqlite_forget(conn, row)
    _sqlite_insert(conn, [stories[row[0]] for row in queued if row[0] in stories], analysed)
    _dequeue(conn, [(row[0], row[1]) for row in queued])
    return len(queued)


def _expanding(only: Sequence[int] | None) -> list[BindParameter[Any]]:
    return [] if only is None else [bindparam("only", expanding=True)]


def _dequeue(conn: Connection, claimed: list[tuple[int, int]]) -> None:
    conn.execute(
        text("DELETE FROM search_queue WHERE story_id = :id AND seq = :seq"),
        [{"id": story_id, "seq": seq} for story_id, seq in claimed],
    )


# --- SQLite (FTS5, contentless) ------------------------------------------------------


def _columns(tokens: StoryTokens) -> tuple[str, str, str]:
    return (
        " ".join(" ".join(word) for word in tokens.title),
        " ".join(" ".join(word) for word in tokens.body),
        " ".join(tokens.meta),
    )


def _sqlite_forget(conn: Connection, row: Any) -> None:
    """Remove the story's current index entry, given the text it was indexed from."""
    story_id, has_old = row[0], row[2]
    key = conn.execute(
        text("SELECT sort_key FROM search_docs WHERE story_id = :id"), {"id": story_id}
    ).scalar()
    if key is None:
        return
    if not has_old:
        # Cannot happen while the triggers are in place; the entry cannot be
        # removed without its tokens, so start over rather than leave it stale.
        raise IndexOutOfStep(f"story {story_id} is indexed but its old text was not kept")
    title, body, meta = _columns(tokens_of(row[3], row[4], row[5], row[6], row[7], row[8]))
    conn.execute(
        text(
            "INSERT INTO search_fts (search_fts, rowid, title, body, meta) "
            "VALUES ('delete', :k, :t, :b, :m)"
        ),
        {"k": key, "t": title, "b": body, "m": meta},
    )
    conn.execute(text("DELETE FROM search_docs WHERE sort_key = :k"), {"k": key})


class IndexOutOfStep(RuntimeError):
    """The index cannot be updated incrementally; it must be rebuilt."""


def _sqlite_insert(
    conn: Connection,
    stories: Iterable[_StoryRow],
    analysed: Mapping[int, AnalyzedDocument] | None = None,
) -> None:
    docs, fts = [], []
    for story in stories:
        tokens = story.tokens(analysed)
        key = _free_key(conn, sort_key(story.when, story.id))
        docs.append({"k": key, "id": story.id, "lang": tokens.lang})
        title, body, meta = _columns(tokens)
        fts.append({"k": key, "t": title, "b": body, "m": meta})
        # reserve the key now: the next story of this batch may want it too
        conn.execute(
            text("INSERT INTO search_docs (sort_key, story_id, lang) VALUES (:k, :id, :lang)"),
            docs[-1],
        )
    if fts:
        conn.execute(
            text("INSERT INTO search_fts (rowid, title, body, meta) VALUES (:k, :t, :b, :m)"), fts
        )


def _free_key(conn: Connection, key: int) -> int:
    """The first unused sort key at or after ``key`` (two stories in one second with ids 2^20 apart)."""
    while conn.execute(text("SELECT 1 FROM search_docs WHERE sort_key = :k"), {"k": key}).first():
        key += 1
    return key


# --- PostgreSQL (tsvector + GIN) ------------------------------------------------------


def _pg_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(tokens: StoryTokens, key: int) -> tuple[str, bool]:
    """The tsvector text of a story, and whether every position fit PostgreSQL's limits.

    All keys of a word share its position, so phrases over any mix of keys
    are exact. Title positions carry weight A. The day and month of the
    story's sort key are lexemes too, so a search can ask GIN for "matches in
    the last days" before it asks for all of them (see ``time_buckets``).
    """
    positions: dict[str, list[str]] = {}
    exact = True
    title_len = len(tokens.title)
    zones = (
        (tokens.title, 1, "A"),
        (tokens.body, title_len + PG_ZONE_GAP + 1, ""),
    )
    for words, first, weight in zones:
        for offset, word in enumerate(words):
            position = first + offset
            if position > PG_MAX_POSITION:
                exact = False
            for token in word:
                listed = positions.setdefault(token, [])
                if position > PG_MAX_POSITION:
                    continue
                if len(listed) >= PG_MAX_POSITIONS_PER_LEXEME:
                    exact = False
                    continue
                listed.append(f"{position}{weight}")
    parts = []
    for token, listed in positions.items():
        parts.append(_pg_lexeme(token) + ":" + ",".join(listed or [str(PG_MAX_POSITION)]))
    meta = [*dict.fromkeys(tokens.meta), *time_buckets(key)]
    parts.extend(_pg_lexeme(token) for token in meta)
    literal = " ".join(parts)
    if len(literal) > PG_MAX_TSVECTOR_CHARS:
        literal = " ".join(_pg_lexeme(t) for t in [*positions, *meta])
        exact = False
    return literal, exact


def time_buckets(key: int) -> tuple[str, str]:
    """The day and month lexemes of a sort key: ``<d20261128``, ``<m202611``."""
    day = datetime.fromtimestamp(seconds_of(key), UTC)
    return f"{DAY}{day:%Y%m%d}", f"{MONTH}{day:%Y%m}"


def _pg_insert(
    conn: Connection,
    stories: Iterable[_StoryRow],
    analysed: Mapping[int, AnalyzedDocument] | None = None,
) -> None:
    for story in stories:
        tokens = story.tokens(analysed)
        key = sort_key(story.when, story.id)
        literal, exact = tsvector_literal(tokens, key)
        while True:
            inserted = conn.execute(
                text(
                    "INSERT INTO search_docs (sort_key, story_id, lang, positions_exact, tsv) "
                    "VALUES (:k, :id, :lang, :exact, CAST(:tsv AS tsvector)) "
                    "ON CONFLICT (sort_key) DO NOTHING RETURNING sort_key"
                ),
                {"k": key, "id": story.id, "lang": tokens.lang, "exact": exact, "tsv": literal},
            ).first()
            if inserted is not None:
                break
            key += 1


# --- rebuilding -------------------------------------------------------------------------


# Above this many stories a rebuild builds the GIN index once at the end (PostgreSQL)
# and merges the FTS5 segments it wrote (SQLite).
BULK_THRESHOLD = 20_000


def rebuild(conn: Connection, *, batch: int = 1000) -> int:
    """Index every story from scratch (first migration, analyser change, lost triggers)."""
    postgres = conn.dialect.name == "postgresql"
    total = int(conn.execute(select(func.count()).select_from(Story)).scalar_one())
    if postgres:
        conn.execute(text("DELETE FROM search_docs"))
        if total > BULK_THRESHOLD:
            conn.execute(text("DROP INDEX IF EXISTS ix_search_docs_tsv"))
    else:
        conn.execute(text("INSERT INTO search_fts (search_fts) VALUES ('delete-all')"))
        conn.execute(text("DELETE FROM search_docs"))
    conn.execute(text("DELETE FROM search_queue"))
    used: set[int] = set()
    count = 0
    for rows in _all_stories(conn, batch):
        if postgres:
            _pg_bulk(conn, rows, used)
        else:
            _sqlite_bulk(conn, rows, used)
        count += len(rows)
    if postgres and total > BULK_THRESHOLD:
        conn.execute(text(schema.PG_GIN_INDEX))
    elif not postgres and count > BULK_THRESHOLD:
        # merge the segments a bulk load leaves behind: fewer b-trees to search per term
        conn.execute(text("INSERT INTO search_fts (search_fts) VALUES ('optimize')"))
    _set_version(conn)
    return count


def _all_stories(conn: Connection, batch: int) -> Iterator[list[_StoryRow]]:
    last = 0
    while True:
        ids = list(
            conn.execute(
                select(Story.id).where(Story.id > last).order_by(Story.id).limit(batch)
            ).scalars()
        )
        if not ids:
            return
        stories = _load(conn, ids)
        yield [stories[i] for i in ids if i in stories]
        last = ids[-1]


def _unique_key(story: _StoryRow, used: set[int]) -> int:
    key = sort_key(story.when, story.id)
    while key in used:
        key += 1
    used.add(key)
    return key


def _sqlite_bulk(conn: Connection, rows: list[_StoryRow], used: set[int]) -> None:
    docs, fts = [], []
    for story in rows:
        tokens = story.tokens()
        key = _unique_key(story, used)
        docs.append({"k": key, "id": story.id, "lang": tokens.lang})
        title, body, meta = _columns(tokens)
        fts.append({"k": key, "t": title, "b": body, "m": meta})
    conn.execute(
        text("INSERT INTO search_docs (sort_key, story_id, lang) VALUES (:k, :id, :lang)"), docs
    )
    conn.execute(
        text("INSERT INTO search_fts (rowid, title, body, meta) VALUES (:k, :t, :b, :m)"), fts
    )


def _pg_bulk(conn: Connection, rows: list[_StoryRow], used: set[int]) -> None:
    values = []
    for story in rows:
        tokens = story.tokens()
        key = _unique_key(story, used)
        literal, exact = tsvector_literal(tokens, key)
        values.append(
            {
                "k": key,
                "id": story.id,
                "lang": tokens.lang,
                "exact": exact,
                "tsv": literal,
            }
        )
    conn.execute(
        text(
            "INSERT INTO search_docs (sort_key, story_id, lang, positions_exact, tsv) "
            "VALUES (:k, :id, :lang, :exact, CAST(:tsv AS tsvector))"
        ),
        values,
    )
