"""Statements of the event layer (placement in crawler/events, corrections by operators).

Functions take a keyword-only ``session`` and never commit; the caller owns
the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    Executable,
    Insert,
    Integer,
    Table,
    TextClause,
    TextualSelect,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, joinedload

from db import event_caches
from db.models import Event, EventKey, EventSignatureRow, Story, TermFrequency

TOTAL_KEY = ""
# The tables, not the ORM entities: plain executemany writes, without the ORM's bulk path.
_EVENT_KEYS = cast(Table, EventKey.__table__)
_TERM_FREQUENCIES = cast(Table, TermFrequency.__table__)
_SIGNATURES = cast(Table, EventSignatureRow.__table__)
# How long after an event's first report a fuller report may still become its headline.
LEAD_WINDOW = timedelta(hours=24)
# Keys read by one bounded candidate lookup, one index range each (SQLite allows
# 500 arms in a UNION ALL). Reports have 20 to 50; a long list of names has more,
# of which an arbitrary (hash-ordered) 200 are enough to find its event.
MAX_LOOKUP_KEYS = 200
# The lookup's arms come in steps of this many (MAX_LOOKUP_KEYS is a multiple of it).
LOOKUP_ARMS_STEP = 8


def save_signature(
    *, session: Session, story_id: int, data: dict[str, Any], keys: Sequence[int], at: datetime
) -> None:
    event_caches.counted_in(session)
    event_caches.signature_cache(session).forget(story_id)
    upsert_signature, _ = _upserts(session.get_bind().dialect.name)
    session.execute(upsert_signature, {"story_id": story_id, "data": data})
    session.execute(_DELETE_KEYS, {"story_id": story_id})
    if keys:
        bind_time = _time_binding(session.get_bind().dialect)
        statement: Executable
        moment: Any
        if bind_time is None:
            statement, moment = _INSERT_KEYS, at
        else:
            # As in the candidate lookup: the one time converted once, not once a row.
            statement, moment = _INSERT_KEYS_BOUND, bind_time(at)
        session.execute(
            statement, [{"key": key, "story_id": story_id, "at": moment} for key in keys]
        )


def count_terms(*, session: Session, terms: Iterable[str]) -> None:
    """One more story carries each of ``terms`` (and one more story is counted)."""
    # Sorted: one lock order for concurrent writers.
    counted = sorted({*terms, TOTAL_KEY})
    _, upsert_terms = _upserts(session.get_bind().dialect.name)
    session.execute(upsert_terms, [{"key": term, "df": 1} for term in counted])
    event_caches.counted_in(session)
    event_caches.term_cache(session).increment(counted)


_INSERT_KEYS = insert(_EVENT_KEYS)
_INSERT_KEYS_BOUND = text(
    "INSERT INTO event_keys (key, story_id, at) VALUES (:key, :story_id, :at)"
)
_DELETE_KEYS = delete(_EVENT_KEYS).where(_EVENT_KEYS.c.story_id == bindparam("story_id"))


@lru_cache(maxsize=4)
def _upserts(dialect: str) -> tuple[Insert, Insert]:
    """The signature's and the term counts' upserts for ``dialect``, built once: each
    stored story runs both, and building them (the ``excluded`` namespace, the
    conflict clause) cost more than running them."""
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    signature = make(_SIGNATURES)
    terms = make(_TERM_FREQUENCIES)
    return (
        signature.on_conflict_do_update(
            index_elements=[_SIGNATURES.c.story_id], set_={"data": signature.excluded.data}
        ),
        terms.on_conflict_do_update(
            index_elements=[_TERM_FREQUENCIES.c.key], set_={"df": _TERM_FREQUENCIES.c.df + 1}
        ),
    )


def term_counts(*, session: Session, terms: Iterable[str]) -> tuple[dict[str, int], int]:
    """Document frequencies of ``terms`` (absent ones left out), and the story count.

    Served from this process's cache where it has them (``db.event_caches``);
    the rest are read in ``IN`` lookups of 500 and kept (absent ones as 0).
    """
    cache = event_caches.term_cache(session)
    known = cache.fresh()
    wanted = {*terms, TOTAL_KEY}
    # A set difference and one comprehension: a placement asks for a few thousand keys.
    missing = sorted(wanted.difference(known))
    counts = {term: df for term in wanted if (df := known.get(term))}
    read = _read_term_counts(session, missing)
    if missing:
        cache.update((term, read.get(term, 0)) for term in missing)
        counts.update(read)
    return counts, counts.pop(TOTAL_KEY, 0)


def term_count_lookup(*, session: Session, terms: set[str]) -> tuple[Mapping[str, int], int]:
    """``term_counts`` for placement: a mapping holding every one of ``terms`` (0 when no
    story carries it), and the story count.

    The mapping may hold other keys too (it is this process's cache when it can be):
    look up only ``terms`` in it, and before the transaction writes again. A placement
    asks for a few thousand keys, nearly all known; copying the known ones into a dict
    of their own cost as much as weighing them.
    """
    cache = event_caches.term_cache(session)
    known = cache.fresh()
    missing = sorted(terms.difference(known))
    if TOTAL_KEY not in known:
        missing.append(TOTAL_KEY)
    if not missing:
        return known, known[TOTAL_KEY]
    read = _read_term_counts(session, missing)
    found = {term: read.get(term, 0) for term in missing}
    cache.update(found.items())
    if cache.counts is not known:
        # The cache dropped its oldest half to make room: ``known`` is the old dict,
        # as it was, without what was read.
        known = {**known, **found}
    return known, known[TOTAL_KEY]


def _read_term_counts(session: Session, keys: list[str]) -> dict[str, int]:
    """The stored document frequencies of ``keys`` (absent ones left out), read in
    ``IN`` lookups of 500."""
    read: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        read.update({key: df for key, df in session.execute(_TERMS, {"keys": chunk})})
    return read


def candidate_event_starts(
    *,
    session: Session,
    keys: Sequence[int],
    start: datetime,
    end: datetime,
    exclude: int,
    limit: int,
    per_key: int,
) -> dict[int, datetime]:
    """The first report time of each event whose placed stories in [start, end] share
    most keys with the story, by event id in ascending order.

    ``per_key``: a key that more than this many other stories in [start, end]
    carry is left out of the count, and its postings past that many are not read
    (a key half the window carries found no event, yet cost as much as all the
    rare ones, and more as the window filled). When every key of the story is
    that common, the newest ``per_key + 1`` postings of each are counted. The
    start comes in the same statement, so placement does not ask for its
    candidates' events again (a query per story).
    """
    if not keys:
        return {}
    wanted = sorted(set(keys))[:MAX_LOOKUP_KEYS]
    # Arms in steps of LOOKUP_ARMS_STEP, the spare ones looking for NULL (which no
    # key equals): a crawl process then compiles a few statements, not one per count.
    arms = -(-len(wanted) // LOOKUP_ARMS_STEP) * LOOKUP_ARMS_STEP
    values: dict[str, object] = {f"k{i}": None for i in range(len(wanted), arms)}
    values.update({f"k{i}": key for i, key in enumerate(wanted)})
    values.update(start=start, end=end, exclude=exclude, limit=limit, per_key=per_key)
    bind_time = _time_binding(session.get_bind().dialect)
    if bind_time is None:
        # Rows: story id, event id, the event's first report time.
        rows = session.execute(_bounded_statement(arms), values).all()
    else:
        values.update(start=bind_time(start), end=bind_time(end))
        rows = _lookup_in_two_steps(session, wanted, arms, values, per_key)
    return {event_id: first_at for _, event_id, first_at in sorted(rows, key=_event_of_row)}


def _lookup_in_two_steps(
    session: Session, wanted: list[int], arms: int, values: dict[str, object], per_key: int
) -> Sequence[Any]:
    """The rows of ``_bounded_statement`` on SQLite, found in two statements: the
    postings each key has (at most ``per_key + 1``), then the stories sharing most of
    the rare keys' postings (or of every key's, when none is rare).

    In one statement SQLite wrote every posting read to a temporary table and grouped
    it by key to find the rare keys: three times the cost of reading the postings.
    Counting them first lets the second statement read only the postings it counts,
    grouped once. Within SQLite's transaction both statements see the same rows
    (PostgreSQL, where another transaction may commit between two statements, keeps
    the one statement).
    """
    counts = session.execute(_posting_counts_statement(arms), values).one()
    chosen = [key for key, found in zip(wanted, counts, strict=False) if 0 < found <= per_key]
    if not chosen:
        # No rare key: the newest postings of every key are counted (the same as
        # above; none at all when no key has any).
        if not any(counts):
            return []
        chosen = wanted
    steps = -(-len(chosen) // LOOKUP_ARMS_STEP) * LOOKUP_ARMS_STEP
    counted: dict[str, object] = {f"k{i}": None for i in range(len(chosen), steps)}
    counted.update({f"k{i}": key for i, key in enumerate(chosen)})
    counted.update({name: values[name] for name in ("start", "end", "exclude", "limit", "per_key")})
    return session.execute(_shared_statement(steps), counted).all()


# One arm of the lookup: the newest ``per_key + 1`` postings of one key in the window.
_ARM = (
    "SELECT key, story_id FROM event_keys"
    " WHERE key = :k{i} AND at >= :start AND at <= :end AND story_id != :exclude"
    " ORDER BY at DESC LIMIT :per_key + 1"
)
# The stories sharing most of ``postings``, with their events' first report times.
_SHARED = (
    " shared AS (SELECT story_id, count(*) AS shared FROM postings"
    "{where} GROUP BY story_id ORDER BY shared DESC, story_id DESC LIMIT :limit)"
    " SELECT stories.id, stories.event_id, events.first_at FROM shared"
    " JOIN stories ON stories.id = shared.story_id"
    " JOIN events ON events.id = stories.event_id"
    " ORDER BY shared.shared DESC, stories.id DESC"
)


@lru_cache(maxsize=MAX_LOOKUP_KEYS // LOOKUP_ARMS_STEP)
def _posting_counts_statement(count: int) -> TextClause:
    """One row: how many postings each of ``count`` keys has in the window, at most
    ``per_key + 1`` (the same index range as the lookup's arm)."""
    columns = ", ".join(f"(SELECT count(*) FROM ({_ARM.format(i=i)}))" for i in range(count))
    return text(f"SELECT {columns}")


@lru_cache(maxsize=MAX_LOOKUP_KEYS // LOOKUP_ARMS_STEP)
def _shared_statement(count: int) -> TextualSelect:
    """The lookup's stories and events counting every posting of ``count`` keys (the
    rare ones), with its times given bound already (``_time_binding``)."""
    postings = " UNION ALL ".join(
        f"SELECT * FROM ({_ARM.format(i=i)}) AS a{i}" for i in range(count)
    )
    sql = f"WITH postings AS ({postings})," + _SHARED.format(where="")
    return text(sql).columns(
        id=Integer, event_id=Integer, first_at=cast(Table, Event.__table__).c.first_at.type
    )


def _event_of_row(row: Sequence[Any]) -> int:
    return int(row[1])


@lru_cache(maxsize=MAX_LOOKUP_KEYS // LOOKUP_ARMS_STEP)
def _bounded_statement(count: int) -> TextualSelect:
    """The bounded lookup for ``count`` keys (``:k0`` ...), reading at most ``per_key + 1``
    postings of each key (one index range each, newest first), as one text statement
    with its values given at execution.

    Built from SQLAlchemy objects, its 20 to 50 limited subqueries cost more to build
    and compile than to run; and binding the values into the statement, or wrapping
    it in a select of the stories, made each lookup a new statement to compile (a
    crawl of 300 stories spent 7 ms per story there). One statement per step of
    ``LOOKUP_ARMS_STEP`` keys, compiled once per process. (On SQLite the same rows
    come from ``_lookup_in_two_steps``.)
    """
    postings = " UNION ALL ".join(
        f"SELECT * FROM ({_ARM.format(i=i)}) AS a{i}" for i in range(count)
    )
    sql = (
        f"WITH postings AS ({postings}),"
        " rare AS (SELECT key FROM postings GROUP BY key HAVING count(*) <= :per_key),"
        # When no key is rare, the postings read (the newest of each key) are counted.
        + _SHARED.format(
            where=" WHERE key IN (SELECT key FROM rare) OR NOT EXISTS (SELECT 1 FROM rare)"
        )
    )
    at = _EVENT_KEYS.c.at.type
    return (
        text(sql)
        .bindparams(bindparam("start", type_=at), bindparam("end", type_=at))
        .columns(
            id=Integer, event_id=Integer, first_at=cast(Table, Event.__table__).c.first_at.type
        )
    )


@lru_cache(maxsize=8)
def _time_binding(dialect: Dialect) -> Callable[[datetime], Any] | None:
    """On SQLite, how ``event_keys.at``'s type binds a time (as text); None elsewhere.

    SQLite's parameters are positional: each arm of the lookup names ``:start`` and
    ``:end`` again, so typed parameters had the same two times converted once per
    arm, a hundred conversions per lookup. There they are converted once here and
    bound untyped. PostgreSQL's parameters are named, each converted once, and typed
    they get the column's cast, which stays.
    """
    if dialect.name != "sqlite":
        return None
    process = _EVENT_KEYS.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    return None if process is None else cast(Callable[[datetime], Any], process)


def events_by_id(*, session: Session, ids: Iterable[int]) -> dict[int, Event]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {event.id: event for event in session.scalars(select(Event).where(Event.id.in_(wanted)))}


def member_signatures(
    *, session: Session, event_ids: Iterable[int], per_event: int
) -> dict[int, list[dict[str, Any]]]:
    """Up to ``per_event`` signatures of each event: its first and its latest reports."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Story.event_id, Story.id, EventSignatureRow.data)
        .join(EventSignatureRow, EventSignatureRow.story_id == Story.id)
        .where(Story.event_id.in_(wanted))
        .order_by(Story.event_id, Story.id)
    )
    members: dict[int, list[dict[str, Any]]] = {}
    for event_id, _story_id, data in rows:
        if event_id is not None:
            members.setdefault(event_id, []).append(data)
    return {event_id: sample_members(found, per_event) for event_id, found in members.items()}


def member_story_ids(*, session: Session, event_ids: Iterable[int]) -> dict[int, list[int]]:
    """The ids of each event's stories, oldest first (``member_signatures`` without the data)."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    rows = session.execute(_MEMBER_IDS, {"ids": wanted})
    members: dict[int, list[int]] = {}
    for event_id, story_id in rows:
        if event_id is not None:
            members.setdefault(event_id, []).append(story_id)
    return members


def signatures_of(*, session: Session, story_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored signatures of these stories (stories without one left out)."""
    wanted = sorted(set(story_ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(_SIGNATURES_OF, {"ids": wanted[start : start + 500]})
        found.update({story_id: data for story_id, data in rows})
    return found


def title_concepts_of(*, session: Session, story_ids: Iterable[int]) -> dict[int, list[str]]:
    """The headline concepts (``"tc"``) of these stories' stored signatures, as stored
    (stories without a signature left out): the database picks them out, so the rest
    of each signature is neither sent nor decoded."""
    wanted = sorted(set(story_ids))
    found: dict[int, list[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(_TITLE_CONCEPTS, {"ids": wanted[start : start + 500]})
        found.update({story_id: list(concepts or ()) for story_id, concepts in rows})
    return found


def sample_members(found: list[Any], per_event: int) -> list[Any]:
    """An event's first and latest ``per_event // 2`` members, or all when few."""
    half = max(1, per_event // 2)
    return found if len(found) <= per_event else found[:half] + found[-half:]


def start_event(*, session: Session, story: Story, at: datetime, pinned: bool = False) -> Event:
    event = Event(
        first_story_id=story.id,
        lead_story_id=story.id,
        first_at=at,
        size=1,
        languages={story.language or "?": 1},
    )
    session.add(event)
    session.flush()
    story.event_id = event.id
    story.event_pinned = pinned
    return event


def join_event(*, session: Session, event: Event, story: Story, at: datetime) -> None:
    story.event_id = event.id
    event.size += 1
    languages = dict(event.languages or {})
    language = story.language or "?"
    languages[language] = languages.get(language, 0) + 1
    event.languages = languages
    if at < event.first_at:
        event.first_at = at
        event.first_story_id = story.id
    lead = _body_length(session, event.lead_story_id) if event.lead_story_id else None
    if lead is None or (at - event.first_at <= LEAD_WINDOW and len(story.body) > lead):
        event.lead_story_id = story.id


def _body_length(session: Session, story_id: int) -> int | None:
    """The length of a story's body; None when the story is gone.

    Read as the one column when the story is not loaded already: loading the
    headline report as a whole entity, for its length alone, was a tenth of
    placement's cost in a crawl.
    """
    loaded = session.identity_map.get(session.identity_key(Story, story_id))
    if loaded is not None:
        return len(cast(Story, loaded).body)
    body = session.scalar(_BODY, {"story_id": story_id})
    return None if body is None else len(body)


# Statements every stored story runs, built once: building a select (coercing each
# clause, computing its cache key) cost about as much as running it.
_BODY = select(Story.body).where(Story.id == bindparam("story_id"))
_MEMBER_IDS = (
    select(Story.event_id, Story.id)
    .where(Story.event_id.in_(bindparam("ids", expanding=True)))
    .order_by(Story.event_id, Story.id)
)
# Tables only the event layer writes, and only through these statements (never the
# ORM): read through their tables' columns, past the ORM's loading of rows, which
# cost a placement more than the reads themselves.
_TERMS = select(_TERM_FREQUENCIES.c.key, _TERM_FREQUENCIES.c.df).where(
    _TERM_FREQUENCIES.c.key.in_(bindparam("keys", expanding=True))
)
_SIGNATURES_OF = select(_SIGNATURES.c.story_id, _SIGNATURES.c.data).where(
    _SIGNATURES.c.story_id.in_(bindparam("ids", expanding=True))
)
_TITLE_CONCEPTS = select(_SIGNATURES.c.story_id, _SIGNATURES.c.data["tc"]).where(
    _SIGNATURES.c.story_id.in_(bindparam("ids", expanding=True))
)
_EVENT_OF_CLUSTER = (
    select(Story.event_id)
    .where(
        Story.cluster_id == bindparam("cluster_id"),
        Story.id != bindparam("exclude"),
        Story.event_id.is_not(None),
    )
    .order_by(Story.id)
    .limit(1)
)
_FILED_UNDER = (
    select(Story.id, Story.event_id)
    .where(
        Story.id.in_(
            select(EventKey.story_id).where(EventKey.key.in_(bindparam("keys", expanding=True)))
        ),
        Story.id != bindparam("exclude"),
    )
    .order_by(Story.id)
)


def recount(*, session: Session, event_id: int) -> Event | None:
    """Size, languages, first and lead report of an event from its stories; None when empty."""
    event = session.get(Event, event_id)
    if event is None:
        return None
    stories = list(
        session.scalars(select(Story).where(Story.event_id == event_id).order_by(Story.id))
    )
    if not stories:
        session.delete(event)
        return None

    def when(story: Story) -> datetime:
        return story.published_at or story.fetched_at

    first = min(stories, key=lambda s: (when(s), s.id))
    event.first_story_id, event.first_at = first.id, when(first)
    event.size = len(stories)
    languages: dict[str, int] = {}
    for story in stories:
        languages[story.language or "?"] = languages.get(story.language or "?", 0) + 1
    event.languages = languages
    early = [s for s in stories if when(s) - event.first_at <= LEAD_WINDOW]
    event.lead_story_id = max(early, key=lambda s: (len(s.body), -s.id)).id
    return event


def event_stories(*, session: Session, event_id: int, limit: int | None = None) -> list[Story]:
    """An event's reports, earliest first, with their sources loaded (the first ``limit``)."""
    stmt = (
        select(Story)
        .options(joinedload(Story.source))
        .where(Story.event_id == event_id)
        .order_by(func.coalesce(Story.published_at, Story.fetched_at), Story.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def event_members(
    *, session: Session, event_ids: Iterable[int]
) -> list[tuple[int, int | None, int, int | None, str | None]]:
    """(event id, its headline story id, story id, source id, language) of every story of
    these events, in one read."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return []
    rows = session.execute(
        select(Event.id, Event.lead_story_id, Story.id, Story.source_id, Story.language)
        .join(Story, Story.event_id == Event.id)
        .where(Event.id.in_(wanted))
        .order_by(Event.id, Story.id)
    )
    return [(int(e), lead, int(s), src, lang) for e, lead, s, src, lang in rows]


def pinned_story_ids(*, session: Session, story_ids: Iterable[int]) -> list[int]:
    wanted = sorted(set(story_ids))
    if not wanted:
        return []
    return list(
        session.scalars(select(Story.id).where(Story.id.in_(wanted), Story.event_pinned.is_(True)))
    )


def story_ids_of_event(*, session: Session, event_id: int) -> list[int]:
    return list(
        session.scalars(select(Story.id).where(Story.event_id == event_id).order_by(Story.id))
    )


def events_following(*, session: Session, event_id: int) -> list[Event]:
    """The events recorded as later developments of this one, earliest first."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.follows_event_id == event_id)
            .order_by(Event.first_at, Event.id)
        )
    )


def follows_of(*, session: Session, event_ids: Iterable[int]) -> dict[int, int]:
    """The event each of these events develops (events that follow none left out)."""
    wanted = sorted(set(event_ids))
    found: dict[int, int] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Event.id, Event.follows_event_id).where(
                Event.id.in_(wanted[start : start + 500]), Event.follows_event_id.is_not(None)
            )
        )
        found.update({int(e): int(f) for e, f in rows if f is not None})
    return found


def set_follows(*, session: Session, event_id: int, follows: int | None) -> None:
    session.execute(update(Event).where(Event.id == event_id).values(follows_event_id=follows))


def retarget_follows(*, session: Session, old: int, new: int) -> None:
    """Developments recorded as following ``old`` follow ``new`` instead (``new`` excepted)."""
    session.execute(
        update(Event)
        .where(Event.follows_event_id == old, Event.id != new)
        .values(follows_event_id=new)
    )


def move_stories(*, session: Session, story_ids: Sequence[int], event_id: int) -> None:
    """Put stories into an event as an operator's decision (pinned: never moved again)."""
    session.execute(
        update(Story)
        .where(Story.id.in_(list(story_ids)))
        .values(event_id=event_id, event_pinned=True)
    )


def fold_event(*, session: Session, source_id: int, target_id: int) -> None:
    """Every story of ``source_id`` joins ``target_id`` as placed (not pinned); the source is
    deleted and developments recorded as following it follow the target."""
    session.execute(update(Story).where(Story.event_id == source_id).values(event_id=target_id))
    session.flush()
    retarget_follows(session=session, old=source_id, new=target_id)
    recount(session=session, event_id=source_id)
    recount(session=session, event_id=target_id)


def event_of_cluster(*, session: Session, cluster_id: int, exclude: int) -> int | None:
    """The event of the earliest other story of a near-duplicate cluster, if placed."""
    return session.scalar(_EVENT_OF_CLUSTER, {"cluster_id": cluster_id, "exclude": exclude})


def signature_concepts(*, session: Session, story_ids: Iterable[int]) -> dict[int, set[str]]:
    """The concept names in each story's event signature (stories without one left out)."""
    wanted = sorted(set(story_ids))
    found: dict[int, set[str]] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(EventSignatureRow.story_id, EventSignatureRow.data).where(
                EventSignatureRow.story_id.in_(wanted[start : start + 500])
            )
        ).all()
        found.update({story_id: set(data.get("c") or ()) for story_id, data in rows})
    return found


# --- links between stories (a Telegram post and the article it points to) ------


def stories_by_url_keys(
    *, session: Session, url_keys: Iterable[str], exclude: int | None = None
) -> list[Story]:
    """The stored stories with these URL keys (the ones a story links to)."""
    wanted = sorted(set(url_keys))
    if not wanted:
        return []
    stmt = select(Story).where(Story.url_key.in_(wanted)).order_by(Story.id)
    if exclude is not None:
        stmt = stmt.where(Story.id != exclude)
    return list(session.scalars(stmt))


def stories_filed_under(
    *, session: Session, keys: Iterable[int], exclude: int | None = None
) -> list[Story]:
    """The stories whose signatures were filed under any of these keys, oldest first
    (with a link key: the stories linking to an address)."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    ids = select(EventKey.story_id).where(EventKey.key.in_(wanted))
    stmt = select(Story).where(Story.id.in_(ids)).order_by(Story.id)
    if exclude is not None:
        stmt = stmt.where(Story.id != exclude)
    return list(session.scalars(stmt))


def events_by_url_keys(
    *, session: Session, url_keys: Iterable[str], exclude: int
) -> list[tuple[int, int | None]]:
    """(story id, event id) of ``stories_by_url_keys``: what placement needs of them,
    read without loading the stories as entities."""
    wanted = sorted(set(url_keys))
    if not wanted:
        return []
    rows = session.execute(
        select(Story.id, Story.event_id)
        .where(Story.url_key.in_(wanted), Story.id != exclude)
        .order_by(Story.id)
    )
    return [(story_id, event_id) for story_id, event_id in rows]


def events_filed_under(
    *, session: Session, keys: Iterable[int], exclude: int
) -> list[tuple[int, int | None]]:
    """(story id, event id) of ``stories_filed_under``, read without loading the stories
    as entities: every placement asks, and nearly always finds none."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = session.execute(_FILED_UNDER, {"keys": wanted, "exclude": exclude})
    return [(story_id, event_id) for story_id, event_id in rows]


def signature_data(*, session: Session, story_id: int) -> dict[str, Any] | None:
    row = session.get(EventSignatureRow, story_id)
    return row.data if row is not None else None
