"""In-process caches for the event layer, one set per database engine.

Placing a story compares it with the members of a few candidate events, and
needs the document frequency of every key of both sides. Read from the
database each time, that was one large ``IN`` lookup per story (most of the
placement's time), for keys that the previous story asked about too.

``TermCache`` keeps the frequencies this process has read or written:

* keys read from the database are kept, absent ones as 0;
* ``count_terms`` counts up the keys it knows (and leaves the others to be read);
* a transaction that counted terms or saved signatures and then rolled back
  empties both caches (what it wrote was never stored);
* the whole cache is dropped after ``TTL_SECONDS``, so what other processes
  counted meanwhile is read again, and it holds at most ``MAX_TERMS`` keys
  (the oldest read go first).

Within one process the counts are the database's own; other writers' counts
show up within ``TTL_SECONDS``. A weight is a logarithm of a ratio of counts,
so that delay moves weights by a fraction of a percent on a busy archive.

``SignatureCache`` keeps the decoded signatures of the stories compared
lately, by story id: a member of an open event is compared with many later
stories, and was read and JSON-decoded again for each.

Caches are per engine (a test's fresh database, or another database in the
same process, never sees another's counts) and per process.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import Session

MAX_TERMS = 200_000
# Decoded signatures kept (a few kB each, a few tens of MB in all).
MAX_SIGNATURES = 4096
TTL_SECONDS = 300.0
# Marker in ``Session.info``: this transaction counted terms not yet committed.
_PENDING = "event_terms_pending"

C = TypeVar("C")
_caches: weakref.WeakKeyDictionary[Engine, dict[str, Any]] = weakref.WeakKeyDictionary()


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def per_engine(session: Session, name: str, make: Callable[[], C]) -> C:
    """The cache called ``name`` of the session's engine, made on first use."""
    caches = _caches.setdefault(engine_of(session), {})
    cache = caches.get(name)
    if cache is None:
        cache = caches[name] = make()
    return cache  # type: ignore[no-any-return]


class TermCache:
    """Document frequencies by key, and the story count (see the module's notes)."""

    def __init__(self, max_terms: int = MAX_TERMS, ttl: float = TTL_SECONDS) -> None:
        self.max_terms = max_terms
        self.ttl = ttl
        self.counts: dict[str, int] = {}
        self.born = time.monotonic()

    def fresh(self) -> dict[str, int]:
        """The counts, emptied first when they are older than the TTL."""
        if time.monotonic() - self.born > self.ttl:
            self.clear()
        return self.counts

    def clear(self) -> None:
        self.counts = {}
        self.born = time.monotonic()

    def increment(self, keys: Iterable[str]) -> None:
        """One more story carries each of ``keys``: the ones known are counted up, the
        others are read when next asked for."""
        counts = self.fresh()
        for key in keys:
            df = counts.get(key)
            if df is not None:
                counts[key] = df + 1

    def update(self, found: Iterable[tuple[str, int]]) -> None:
        counts = self.fresh()
        counts.update(found)
        if len(counts) > self.max_terms:
            # The oldest inserted half goes (a dict keeps insertion order).
            keep = list(counts.items())[len(counts) - self.max_terms // 2 :]
            self.counts = dict(keep)


def term_cache(session: Session) -> TermCache:
    return per_engine(session, "terms", TermCache)


class SignatureCache:
    """Decoded event signatures by story id (None: the story has none), the least
    recently used dropped past ``MAX_SIGNATURES``.

    A story's signature is written when it is placed; ``db.events.save_signature``
    forgets the old one, and the placement puts the new one here. Another process
    re-placing a story this one has kept is not seen (placement writes a story's
    signature once, when it is stored).
    """

    def __init__(self, size: int = MAX_SIGNATURES) -> None:
        self.size = size
        self.items: OrderedDict[int, Any] = OrderedDict()

    def __contains__(self, story_id: int) -> bool:
        return story_id in self.items

    def get(self, story_id: int) -> Any:
        self.items.move_to_end(story_id)
        return self.items[story_id]

    def put(self, story_id: int, signature: Any) -> None:
        self.items[story_id] = signature
        self.items.move_to_end(story_id)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def forget(self, story_id: int) -> None:
        self.items.pop(story_id, None)


def signature_cache(session: Session) -> SignatureCache:
    return per_engine(session, "signatures", SignatureCache)


def counted_in(session: Session) -> None:
    """Note that this session's transaction counted terms or saved signatures (see
    ``_forget_rolled_back``)."""
    session.info[_PENDING] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, _previous: Any) -> None:
    """What a transaction that rolled back wrote was never stored: read it all again."""
    if session.info.pop(_PENDING, None):
        # A session without a bind has nothing cached.
        with contextlib.suppress(UnboundExecutionError):
            term_cache(session).clear()
            signature_cache(session).items.clear()
