"""Place reports into events one at a time, as they arrive.

A report joins the event whose reports it most resembles, if that
resemblance is strong enough and the event began recently (``window``,
anchored on the event's first report: a second deportation flight a month
later is a new event, not a late report of the first). Otherwise it starts an
event of its own. A wrong merge hides a story from subscribers while a missed
merge only repeats it, so the join threshold is set for precision first.

The same placement runs offline (``group``, for ``wirewatch dedup`` and the
benchmarks) and against the database (crawler.events.index), so what is
measured is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import TypeVar

from crawler.events.pairs import (
    DocumentFrequencies,
    PairModel,
    background,
    default_model,
    pair_features,
)
from crawler.events.signature import EventSignature, is_post_url

WINDOW = timedelta(days=4)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T = TypeVar("T")
# Compare a report with at most this many members of a candidate event (its
# first and its most recent ones): a large event is well represented by them.
MAX_MEMBERS = 8
# A key more stories in the window carry is too common to find candidates by: left
# out of the lookup, whose cost then stays bounded however full the window
# (``db.events.candidate_event_starts``; placement and the follow-up look-back alike).
KEY_POSTINGS = 30


@dataclass
class EventDraft:
    """An event being built: its first report's time and some of its members."""

    key: int
    first: datetime | None
    members: list[EventSignature] = field(default_factory=list)

    def sample(self) -> list[EventSignature]:
        if len(self.members) <= MAX_MEMBERS:
            return self.members
        half = MAX_MEMBERS // 2
        return self.members[:half] + self.members[-half:]


def in_window(event_first: datetime | None, published: datetime | None, window: timedelta) -> bool:
    if event_first is None or published is None:
        return True
    return abs(published - event_first) <= window


def best_event(
    signature: EventSignature,
    events: Sequence[EventDraft],
    score: Callable[[EventSignature, EventSignature], float],
    threshold: float,
) -> tuple[EventDraft | None, float]:
    """The candidate event this report most resembles, if above ``threshold``.

    Resemblance to an event is the mean over its (sampled) members, not the
    best one: a report that resembles one member of a large event but none of
    the others is more often a related event than a report of this one, and
    the mean keeps events from growing by chains of single resemblances.
    """
    found = joinable(signature, events, score, threshold)
    return found[0] if found else (None, 0.0)


def joinable(
    signature: EventSignature,
    events: Sequence[EventDraft],
    score: Callable[[EventSignature, EventSignature], float],
    threshold: float,
) -> list[tuple[EventDraft, float]]:
    """The candidate events this report resembles at ``threshold`` or more, best first."""
    found = []
    for event in events:
        members = event.sample()
        if members:
            value = mean_resemblance(signature, members, score)
            if value >= threshold:
                found.append((event, value))
    return sorted(found, key=lambda pair: -pair[1])


def mean_resemblance(
    signature: EventSignature,
    members: Sequence[EventSignature],
    score: Callable[[EventSignature, EventSignature], float],
) -> float:
    """The mean of ``score`` over the members; for a channel post, over the members in
    its own language when there are any. A post's line or two resembles the article
    it summarises but rarely that article's translations, so a post that arrived
    after the event's other languages fell under the mean of them all and was listed
    apart from its own article."""
    if is_post(signature) and signature.lang is not None:
        own = [member for member in members if member.lang == signature.lang]
        if own:
            members = own
    return sum(score(signature, member) for member in members) / len(members)


def is_post(signature: EventSignature) -> bool:
    """A Telegram channel post (its address is on t.me)."""
    return is_post_url(signature.url)


def posts_only(members: Sequence[EventSignature]) -> bool:
    return all(is_post(m) for m in members)


def to_fold(
    signature: EventSignature,
    found: Sequence[T],
    members: Callable[[T], Sequence[EventSignature]],
) -> tuple[T, list[T]]:
    """The event a report joins among those it could join, and the events folded into it.

    A channel post's line or two rarely resembles a report in another language
    enough to join it, so a post can start an event of its own, which the
    article in the post's language then joins: two events of one happening, one
    per language. An article that could join both shows it. Only that case is
    folded: events of posts alone, in the article's language, into the event
    holding articles that it resembles most, when that event has no report in
    the article's language yet. Folding any events of posts alone, whatever
    their language, merged different events of one family on the development
    part.
    """
    with_articles = [event for event in found if not posts_only(members(event))]
    if not with_articles:
        return found[0], []
    target = with_articles[0]  # the one it resembles most
    if any(m.lang == signature.lang for m in members(target)):
        return found[0], []
    folded = [
        event
        for event in found
        if event is not target and all(m.lang == signature.lang for m in members(event))
    ]
    return (target, folded) if folded else (found[0], [])


def group(
    signatures: Sequence[EventSignature],
    *,
    model: PairModel | None = None,
    threshold: float | None = None,
    window: timedelta = WINDOW,
    frequencies: DocumentFrequencies | None = None,
) -> list[int]:
    """The event number of each signature (in input order), placed in time order."""
    model = model or default_model()
    limit = model.threshold if threshold is None else threshold
    frequencies = frequencies or background().plus(DocumentFrequencies.of(signatures))

    def score(a: EventSignature, b: EventSignature) -> float:
        return model.probability(pair_features(a, b, frequencies.idf))

    order = sorted(
        range(len(signatures)),
        key=lambda i: (signatures[i].published is None, signatures[i].published or 0, i),  # type: ignore[arg-type]
    )
    events: list[EventDraft] = []
    # Numbers are never reused: a folded event's number lives on in ``merged_into``.
    numbers = count()
    assigned = [0] * len(signatures)
    merged_into: dict[int, int] = {}
    for index in order:
        signature = signatures[index]
        open_events = [e for e in events if in_window(e.first, signature.published, window)]
        found = [event for event, _ in joinable(signature, open_events, score, limit)]
        if not found:
            event = EventDraft(key=next(numbers), first=signature.published)
            events.append(event)
        else:
            event, folded = to_fold(signature, found, lambda e: e.members)
            for other in folded:
                event.members = sorted(event.members + other.members, key=_published_key)
                firsts = [e.first for e in (event, other) if e.first is not None]
                event.first = min(firsts) if firsts else None
                merged_into[other.key] = event.key
                events.remove(other)
        event.members.append(signature)
        assigned[index] = event.key

    def final(key: int) -> int:
        while key in merged_into:
            key = merged_into[key]
        return key

    return [final(key) for key in assigned]


def _published_key(signature: EventSignature) -> tuple[bool, datetime]:
    return (signature.published is None, signature.published or _EPOCH)
