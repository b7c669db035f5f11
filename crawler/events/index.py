"""Place each stored story into an event, in the database, shared by every process.

The same decision as ``grouping.group`` (mean resemblance to an event's
members, an event open for ``WINDOW`` after its first report), with the
candidates found through an inverted index of signature keys inside the
window, so the cost per story stays flat as the archive grows: one key
lookup, the signatures of a few candidate events, one write of the story's
own keys and term counts.

A copy (a story already in a near-duplicate cluster) goes where its cluster's
first story went, without comparison; a Telegram post and the article it links
to go together, whichever came first (``crawler.events.links``); a story an
operator pinned stays put.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from db import events as queries
from db.event_caches import signature_cache
from db.models import Event, Story
from sqlalchemy.orm import Session

from crawler.events.codec import from_json, index_keys, to_json
from crawler.events.followups import link_earlier
from crawler.events.grouping import (
    KEY_POSTINGS,
    WINDOW,
    mean_resemblance,
    to_fold,
)
from crawler.events.links import linked_event_id, linking_ids
from crawler.events.members import compared_members
from crawler.events.pairs import (
    IdfTable,
    PairModel,
    add_signature_keys,
    background,
    default_model,
    pair_features,
    signature_keys,
)
from crawler.events.signature import EventSignature, signature_of

# Candidate stories read per placement: the ones sharing most keys in the window.
CANDIDATE_STORIES = 40
# Concepts nearly every story of the beat has: compared, but no use for finding candidates.
COMMON_CONCEPTS = frozenset({"police", "migration", "agreement", "labour", "russia", "tajikistan"})


@dataclass(frozen=True)
class Placement:
    event_id: int
    joined: bool  # False: the story started a new event
    score: float


class EventIndex:
    def __init__(
        self, model: PairModel | None = None, *, follow_lookback: timedelta | None = None
    ) -> None:
        self.model = model or default_model()
        self.follow_lookback = follow_lookback  # None: followups.LOOKBACK

    def signature(self, story: Story, links: frozenset[str] = frozenset()) -> EventSignature:
        """Computed outside the storage transaction: it is the costly part."""
        return signature_of(
            title=story.title,
            text=story.body or story.summary,
            lang=story.language,
            published=_when(story),
            url=story.canonical_url or story.url,
            links=links,
            source=story.source.name if story.source is not None else None,
            publication_known=story.published_at is not None and not story.published_estimated,
        )

    def place(
        self, session: Session, story: Story, signature: EventSignature, *, count: bool = True
    ) -> Placement:
        """Record the story's signature and put it into an event (inside the caller's transaction).

        ``count=False`` when the caller counted the story's terms already (a batch
        counted whole before placing, as ``wirewatch dedup`` does).
        """
        at = _when(story)
        keys = index_keys(signature, common=COMMON_CONCEPTS)
        data = to_json(signature)
        queries.save_signature(session=session, story_id=story.id, data=data, keys=keys, at=at)
        # As later placements read it back: the stored form, decoded.
        signature_cache(session).put(story.id, from_json(data))
        terms = signature_keys(signature)
        if count:
            queries.count_terms(session=session, terms=terms)
        if story.event_pinned and story.event_id is not None:
            return Placement(story.event_id, True, 1.0)
        copied = self._event_of_cluster(session, story)
        if copied is not None:
            queries.join_event(session=session, event=copied, story=story, at=at)
            return Placement(copied.id, True, 1.0)
        tied = self._event_of_links(session, story, signature, at)
        if tied is not None and not self._only_posts_linking(session, tied, story):
            queries.join_event(session=session, event=tied, story=story, at=at)
            return Placement(tied.id, True, 1.0)
        found, best_score = self._joinable(
            session, story, signature, keys, terms, at, exclude={tied.id} if tied else set()
        )
        if tied is not None and not found:
            queries.join_event(session=session, event=tied, story=story, at=at)
            return Placement(tied.id, True, 1.0)
        if not found:
            event = queries.start_event(session=session, story=story, at=at)
            link_earlier(
                session,
                event=event,
                story=story,
                signature=signature,
                keys=keys,
                at=at,
                model=self.model,
                lookback=self.follow_lookback,
            )
            return Placement(event.id, False, best_score)
        # The posts that linked here started an event of their own only because a line
        # and a link resemble nothing: the article speaks for them, wherever it goes.
        fold = [tied.id] if tied is not None else []
        target_id, others = to_fold(signature, list(found), lambda event_id: found[event_id])
        fold += [
            i
            for i in others
            if not queries.pinned_story_ids(
                session=session, story_ids=queries.story_ids_of_event(session=session, event_id=i)
            )
        ]
        event = queries.events_by_id(session=session, ids=[target_id])[target_id]
        queries.join_event(session=session, event=event, story=story, at=at)
        for source_id in fold:
            queries.fold_event(session=session, source_id=source_id, target_id=target_id)
        return Placement(event.id, True, best_score)

    def _event_of_links(
        self, session: Session, story: Story, signature: EventSignature, at: datetime
    ) -> Event | None:
        """The open event of the story a Telegram post links to, or of the post linking here."""
        event_id = linked_event_id(session, story, signature)
        if event_id is None:
            return None
        event = queries.events_by_id(session=session, ids=[event_id]).get(event_id)
        if event is None or abs(at - event.first_at) > WINDOW:
            return None
        return event

    def _only_posts_linking(self, session: Session, event: Event, story: Story) -> bool:
        """Whether the event holds nothing but unpinned stories linking to this one."""
        linking = {story_id for story_id, _ in linking_ids(session, story)}
        members = queries.story_ids_of_event(session=session, event_id=event.id)
        pinned = queries.pinned_story_ids(session=session, story_ids=members)
        return bool(members) and set(members) <= linking and not pinned

    def _event_of_cluster(self, session: Session, story: Story) -> Event | None:
        if story.cluster_id is None:
            return None
        event_id = queries.event_of_cluster(
            session=session, cluster_id=story.cluster_id, exclude=story.id
        )
        if event_id is None:
            return None
        return queries.events_by_id(session=session, ids=[event_id]).get(event_id)

    def _joinable(
        self,
        session: Session,
        story: Story,
        signature: EventSignature,
        keys: list[int],
        terms: frozenset[str],
        at: datetime,
        exclude: set[int],
    ) -> tuple[dict[int, list[EventSignature]], float]:
        """The open events this story may join, best first, with their compared members;
        and the best mean resemblance found (reported even when under the threshold)."""
        starts = queries.candidate_event_starts(
            session=session,
            keys=keys,
            start=at - WINDOW,
            end=at + WINDOW,
            exclude=story.id,
            limit=CANDIDATE_STORIES,
            per_key=KEY_POSTINGS,
        )
        open_ids = [
            i for i, first in starts.items() if abs(at - first) <= WINDOW and i not in exclude
        ]
        members = self._member_signatures(session, open_ids)
        if not members:
            return {}, 0.0
        all_terms = set(terms)
        for found in members.values():
            for member in found:
                add_signature_keys(all_terms, member)
        counts, total = queries.term_count_lookup(session=session, terms=all_terms)
        # Weighed by the shipped background alone, as a key no story carries.
        all_terms.discard(queries.TOTAL_KEY)
        shipped = background()
        total += shipped.total

        # Every pair comparison asks again for the same few hundred keys: a dict lookup.
        idf = _idf(counts, shipped.counts, total, all_terms).__getitem__

        def score(a: EventSignature, b: EventSignature) -> float:
            return self.model.probability(pair_features(a, b, idf))

        scored = sorted(
            (
                (event_id, mean_resemblance(signature, found, score))
                for event_id, found in members.items()
            ),
            key=lambda pair: -pair[1],
        )
        best = scored[0][1] if scored else 0.0
        return {i: members[i] for i, value in scored if value >= self.model.threshold}, best

    def _member_signatures(
        self, session: Session, event_ids: list[int]
    ) -> dict[int, list[EventSignature]]:
        """The compared members of each event (``queries.member_signatures``), decoded once
        per process: a story's signature is read and decoded when first compared, then
        kept (``db.event_caches.SignatureCache``)."""
        return compared_members(session, event_ids)


def _idf(
    counts: Mapping[str, int], shipped: dict[str, int], total: int, keys: set[str]
) -> IdfTable:
    """``DocumentFrequencies.idf`` over the archive's counts plus the shipped background,
    with the weights of ``keys`` (every key the placement will compare) worked out up
    front in one loop: asked for one by one, each first look-up was two calls.

    ``counts`` holds every one of ``keys`` and maybe others (``term_count_lookup``);
    any other key asked for later was not counted in the archive, and weighs by the
    shipped background alone."""

    # Most keys share a handful of small counts: each count's weight is worked out once.
    by_count: dict[int, float] = {}

    def of_count(count: int) -> float:
        found = by_count[count] = math.log((total + 1) / (count + 1)) + 1.0
        return found

    def weight(key: str) -> float:
        count = shipped.get(key, 0)
        return by_count[count] if count in by_count else of_count(count)

    table = IdfTable(weight)
    shipped_of = shipped.get
    for key in keys:
        count = counts[key] + shipped_of(key, 0)
        table[key] = by_count[count] if count in by_count else of_count(count)
    return table


def _when(story: Story) -> datetime:
    moment = story.published_at or story.fetched_at or datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
