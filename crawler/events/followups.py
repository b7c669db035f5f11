"""Link a new event to the earlier event it develops: signed, then ratified; a second flight.

An event is anchored on its first report (``grouping.WINDOW``), so a later
step of the same matter weeks on starts an event of its own. When a story
starts an event, this looks back (``LOOKBACK``, beyond the join window) for
the event it continues and records it as ``events.follows_event_id``: a link
shown to readers ("Follows: ...", "Later developments") and used by digests
to mark the new event as an update of one already sent. Nothing is merged.

The candidates come from the same inverted key index as placement (the
stories sharing most signature keys, by time), so the cost is one more
bounded lookup and a few comparisons, and only for stories that start an
event. A candidate is taken when its headlines name the same matter (the
same non-act concepts: actors, places, subject: ``same_matter``) and the pair
model, which weighs a different act or a "second" in one headline against
it, still finds the two close (``develops``). The thresholds were chosen on the development
part of the labelled events (``bench/events/followups.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from core.lexicon import Lexicon, default_lexicon
from db import events as queries
from db.models import Event, Story
from sqlalchemy.orm import Session

from crawler.events.grouping import KEY_POSTINGS, WINDOW
from crawler.events.members import compared_headlines, signatures_by_id
from crawler.events.pairs import (
    PairModel,
    _weighted_cosine,
    add_signature_keys,
    background,
    development_features,
)
from crawler.events.signature import EventSignature

# How far back an earlier step is looked for (from the new event's first report).
LOOKBACK = timedelta(days=365)
# Candidate stories read per look-back: the ones sharing most keys.
CANDIDATE_STORIES = 20
# The headlines' actors, places and subject must agree at least this much
# (weighted cosine of their non-act concepts) ...
MIN_HEADLINE = 0.8
# ... and the pair model's probability of one event, at best over the earlier
# event's reports, reach this (far under the join threshold: a later step
# differs in its act).
MIN_PROBABILITY = 0.03

Score = Callable[[EventSignature, EventSignature], float]
Idf = Callable[[str], float]


def same_matter(
    a: EventSignature, b: EventSignature, idf: Idf, lexicon: Lexicon | None = None
) -> bool:
    """Whether two headlines name the same actors, places and subject (whatever was done)."""
    return _same_headline_matter(a.title_concepts, b.title_concepts, idf, lexicon)


def _same_headline_matter(
    a: frozenset[str], b: frozenset[str], idf: Idf, lexicon: Lexicon | None = None
) -> bool:
    """``same_matter`` on the two headlines' concepts alone."""
    lexicon = lexicon or default_lexicon()
    agreement = _weighted_cosine(_matter(a, lexicon), _matter(b, lexicon), idf, "c:")
    return agreement >= MIN_HEADLINE


def develops(signature: EventSignature, members: Sequence[EventSignature], score: Score) -> float:
    """How strongly a report starting an event continues an earlier event, given the
    reports of it whose headlines name the same matter: the best pair probability, or 0
    under ``MIN_PROBABILITY``."""
    best = max((score(signature, member) for member in members), default=0.0)
    return best if best >= MIN_PROBABILITY else 0.0


def _matter(concepts: frozenset[str], lexicon: Lexicon) -> frozenset[str]:
    """What a headline is about, without what was done."""
    return frozenset(c for c in concepts if lexicon.kind(c) != "action")


def link_earlier(
    session: Session,
    *,
    event: Event,
    story: Story,
    signature: EventSignature,
    keys: Sequence[int],
    at: datetime,
    model: PairModel,
    lookback: timedelta | None = None,
) -> int | None:
    """Record the earlier event that a newly started ``event`` develops, if any; its id.
    ``lookback`` None: ``LOOKBACK``; no longer than the join window: none is looked for."""
    if lookback is not None and lookback <= WINDOW:
        return None
    found = earlier_event(
        session,
        story,
        signature,
        keys,
        at,
        model=model,
        lookback=LOOKBACK if lookback is None else lookback,
        exclude=event.id,
    )
    if found is not None:
        event.follows_event_id = found
    return found


def earlier_event(
    session: Session,
    story: Story,
    signature: EventSignature,
    keys: Sequence[int],
    at: datetime,
    *,
    model: PairModel,
    lookback: timedelta = LOOKBACK,
    exclude: int | None = None,
) -> int | None:
    """The id of the earlier event (first report between ``lookback`` and ``WINDOW``
    before ``at``) that the story develops, if any."""
    if MIN_HEADLINE > 0 and not _matter(signature.title_concepts, default_lexicon()):
        # A headline naming no actor, place or subject agrees with none (``same_matter``
        # finds nothing shared): no candidate can pass, so none is looked up.
        return None
    start, end = at - lookback, at - WINDOW
    starts = queries.candidate_event_starts(
        session=session,
        keys=keys,
        start=start,
        end=end,
        exclude=story.id,
        limit=CANDIDATE_STORIES,
        per_key=KEY_POSTINGS,
    )
    earlier = [i for i, first in starts.items() if i != exclude and start <= _aware(first) < end]
    if not earlier:
        return None
    # The headlines first: their concepts are a short read and their weights a short
    # lookup, and few candidates pass, so only those are decoded and their words weighed.
    members = compared_headlines(session, earlier)
    concepts = [signature.title_concepts, *(c for found in members.values() for _, c in found)]
    headlines = _idf(session, {"c:" + c for m in concepts for c in m})
    lexicon = default_lexicon()
    passing = {
        event_id: [
            story_id
            for story_id, c in found
            if _same_headline_matter(signature.title_concepts, c, headlines, lexicon)
        ]
        for event_id, found in members.items()
    }
    passing = {event_id: ids for event_id, ids in passing.items() if ids}
    if not passing:
        return None
    decoded = signatures_by_id(session, (i for ids in passing.values() for i in ids))
    matching: dict[int, list[EventSignature]] = {}
    for event_id, ids in passing.items():
        matching[event_id] = [s for s in (decoded[i] for i in ids) if s is not None]
    terms: set[str] = set()
    for member in [signature, *_all(matching)]:
        add_signature_keys(terms, member)
    idf = _idf(session, terms)

    def score(a: EventSignature, b: EventSignature) -> float:
        return model.probability(development_features(a, b, idf))

    scored = [(develops(signature, found, score), event_id) for event_id, found in matching.items()]
    value, best = max(scored, default=(0.0, None))
    return best if value > 0 else None


def _all(members: dict[int, list[EventSignature]]) -> list[EventSignature]:
    return [m for found in members.values() for m in found]


def _idf(session: Session, terms: set[str]) -> Idf:
    """Inverse document frequencies of ``terms`` (others weigh as unseen) from the
    database's counts plus the shipped background."""
    counts, total = queries.term_counts(session=session, terms=terms)
    shipped = background()
    total += shipped.total
    weights: dict[str, float] = {}

    def idf(key: str) -> float:
        weight = weights.get(key)
        if weight is None:
            count = counts.get(key, 0) + shipped.counts.get(key, 0)
            weight = weights[key] = math.log((total + 1) / (count + 1)) + 1.0
        return weight

    return idf


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
