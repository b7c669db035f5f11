"""The compared members of candidate events, decoded once per process.

Placement and the follow-up look-back both compare a story with the first and
latest reports of a few events (``grouping.MAX_MEMBERS``); a story's signature
is read and decoded when first compared, then kept
(``db.event_caches.SignatureCache``), so each comparison does not decode the
same stored signatures again.

The look-back first asks only whether the headlines name the same matter, and
most of its candidates (events weeks or months old, never compared lately) do
not: ``compared_headlines`` reads just their headline concepts, and only the
members that pass are decoded whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from db import events as queries
from db.event_caches import signature_cache
from sqlalchemy.orm import Session

from crawler.events.codec import from_json
from crawler.events.grouping import MAX_MEMBERS
from crawler.events.signature import EventSignature


def compared_members(session: Session, event_ids: list[int]) -> dict[int, list[EventSignature]]:
    """Up to ``MAX_MEMBERS`` signatures of each event, by event id (ascending): its first
    and latest reports with a signature (``queries.member_signatures``, from the cache)."""
    ids = queries.member_story_ids(session=session, event_ids=event_ids)
    known = signatures_by_id(session, (i for story_ids in ids.values() for i in story_ids))
    members: dict[int, list[EventSignature]] = {}
    for event_id, story_ids in ids.items():
        found = [s for s in (known[i] for i in story_ids) if s is not None]
        if found:
            members[event_id] = queries.sample_members(found, MAX_MEMBERS)
    return members


def signatures_by_id(
    session: Session, story_ids: Iterable[int]
) -> dict[int, EventSignature | None]:
    """The decoded signature of each story (None: it has none), from the cache where
    kept, the others read in one lookup and kept."""
    cache = signature_cache(session)
    known: dict[int, EventSignature | None] = {}
    missing = []
    for story_id in story_ids:
        if story_id in cache:
            known[story_id] = cache.get(story_id)
        else:
            missing.append(story_id)
    if missing:
        read = queries.signatures_of(session=session, story_ids=missing)
        for story_id in missing:
            data = read.get(story_id)
            signature = from_json(data) if data is not None else None
            cache.put(story_id, signature)
            known[story_id] = signature
    return known


def compared_headlines(
    session: Session, event_ids: list[int]
) -> dict[int, list[tuple[int, frozenset[str]]]]:
    """``compared_members`` as (story id, headline concepts) pairs: the same members in
    the same order, the concepts taken from the cache where kept, else read alone
    (``queries.title_concepts_of``) without decoding or keeping the signature."""
    ids = queries.member_story_ids(session=session, event_ids=event_ids)
    cache = signature_cache(session)
    known: dict[int, frozenset[str] | None] = {}
    missing = []
    for story_ids in ids.values():
        for story_id in story_ids:
            if story_id in cache:
                signature = cache.get(story_id)
                known[story_id] = None if signature is None else signature.title_concepts
            else:
                missing.append(story_id)
    if missing:
        read = queries.title_concepts_of(session=session, story_ids=missing)
        for story_id in missing:
            concepts = read.get(story_id)
            # As ``codec.from_json`` builds them: the same set, iterated in the same order.
            known[story_id] = None if concepts is None else frozenset(concepts)
    members: dict[int, list[tuple[int, frozenset[str]]]] = {}
    for event_id, story_ids in ids.items():
        found = [(i, c) for i in story_ids if (c := known[i]) is not None]
        if found:
            members[event_id] = queries.sample_members(found, MAX_MEMBERS)
    return members
