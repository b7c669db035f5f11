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
from datetime import datetime, timedelta

from crawler.events.pairs import (
    DocumentFrequencies,
    PairModel,
    background,
    default_model,
    pair_features,
)
from crawler.events.signature import EventSignature

WINDOW = timedelta(days=4)
# Compare a report with at most this many members of a candidate event (its
# first and its most recent ones): a large event is well represented by them.
MAX_MEMBERS = 8


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
    best: EventDraft | None = None
    best_score = 0.0
    for event in events:
        members = event.sample()
        value = (
            sum(score(signature, member) for member in members) / len(members) if members else 0.0
        )
        if value > best_score:
            best, best_score = event, value
    if best_score < threshold:
        return None, best_score
    return best, best_score


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
    assigned = [0] * len(signatures)
    for index in order:
        signature = signatures[index]
        open_events = [e for e in events if in_window(e.first, signature.published, window)]
        event, _ = best_event(signature, open_events, score, limit)
        if event is None:
            event = EventDraft(key=len(events), first=signature.published)
            events.append(event)
        event.members.append(signature)
        assigned[index] = event.key
    return assigned
