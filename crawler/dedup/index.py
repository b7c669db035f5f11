"""The near-duplicate index in the database: band hashes, candidate lookup, clusters.

Everything lives in tables (``lsh_bands``, ``clusters``, ``stories.cluster_id``)
so the index survives restarts and is shared by every process; this object
holds nothing but the caller's session. It never commits: the caller's store
transaction makes "story stored" and "story clustered" one atomic fact.

Per new story: take the band locks (``db.lsh_bands``), look up stories sharing
a band, verify the best-ranked candidates by exact shingle overlap against
their stored text, insert the story's bands, then join the verified
candidate's cluster, or merge the clusters of several verified candidates
(the story bridges reprints that arrived out of order), or open a new one.

The statements are in ``db.lsh_bands`` (the band index) and ``db.clusters``;
this module decides what they do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from core.errors import NotFoundError
from db import clusters, lsh_bands
from sqlalchemy import Row
from sqlalchemy.orm import Session

from crawler.dedup.minhash import (
    DEFAULT_PARAMS,
    LshParams,
    Signature,
    lead_shingles,
    verification_shingles,
)
from crawler.dedup.similarity import DEFAULT_THRESHOLDS, Similarity, Thresholds, compare

UNKNOWN_LANGUAGE = "und"
# Candidates verified per story, best-ranked first. A story already reprinted
# by dozens of outlets shares bands with all of them; one verified match is
# enough to join, so the tail is never read.
MAX_CANDIDATES = 12
# Candidates sharing a single band are mostly stories of the same outlet whose
# boilerplate lines collided (their number grows with the archive); a copy
# with Jaccard 0.5 shares two or more bands 92 % of the time. Newest first,
# at most this many of them are verified.
MAX_WEAK_CANDIDATES = 4
# A candidate sharing only lead bands is read in full only when the first
# ``LshParams.lead_words`` words of both bodies overlap this much (shared lead
# shingles / the shorter lead's): a teaser or a lead reprint shares nearly all
# of them, another story of the same outlet only its header line.
MIN_LEAD_OVERLAP = 0.3
# Re-reads of a matched story's cluster when a concurrent merge moved it.
_RESOLVE_ATTEMPTS = 3


@dataclass(frozen=True)
class Match:
    story_id: int
    cluster_id: int
    shared_bands: int
    similarity: Similarity


@dataclass(frozen=True)
class Assignment:
    """Where a story went and why: ``reason`` is new, copy, too-short or already-assigned.

    ``merged`` lists clusters this story showed to be the same report; they were
    folded into ``cluster_id`` and no longer exist.
    """

    story_id: int
    cluster_id: int
    reason: str
    match: Match | None = None
    merged: tuple[int, ...] = ()

    @property
    def joined(self) -> bool:
        return self.match is not None


@dataclass(frozen=True)
class Removal:
    story_id: int
    cluster_id: int | None
    cluster_deleted: bool
    first_story_id: int | None


class NearDuplicateIndex:
    """MinHash LSH over the database; every method runs in the caller's transaction."""

    def __init__(
        self,
        session: Session,
        *,
        params: LshParams = DEFAULT_PARAMS,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.session = session
        self.params = params
        self.thresholds = thresholds
        self.max_candidates = max_candidates

    def assign(
        self,
        story_id: int,
        signature: Signature,
        *,
        language: str | None = None,
        published_at: datetime | None = None,
        fetched_at: datetime | None = None,
    ) -> int:
        """Put a newly stored story into a cluster and return the cluster's id."""
        return self.assign_detailed(
            story_id,
            signature,
            language=language,
            published_at=published_at,
            fetched_at=fetched_at,
        ).cluster_id

    def assign_detailed(
        self,
        story_id: int,
        signature: Signature,
        *,
        language: str | None = None,
        published_at: datetime | None = None,
        fetched_at: datetime | None = None,
    ) -> Assignment:
        """Like ``assign``, with the matched story and the similarity that decided."""
        self._check(signature)
        seen_at = _seen_at(published_at, fetched_at)
        current = self._story_cluster(story_id, signature.bands)
        if current is not None:
            return Assignment(story_id, current, "already-assigned")
        if not signature.indexable:
            cluster_id = self._new_cluster(story_id, language, seen_at)
            return Assignment(story_id, cluster_id, "too-short")
        matches = self.find_copies(signature, exclude=story_id)
        self._insert_bands(story_id, signature.bands)
        for _attempt in range(_RESOLVE_ATTEMPTS):
            if not matches:
                return Assignment(story_id, self._new_cluster(story_id, language, seen_at), "new")
            clusters = sorted({m.cluster_id for m in matches})
            locked = self._lock_clusters(clusters)
            if len(locked) == len(clusters):
                break
            # A concurrent merge absorbed one of them: follow the stories to where they went.
            matches = self._current_clusters(matches)
        else:
            raise NotFoundError(f"clusters {clusters} kept vanishing while story {story_id} joined")
        target = clusters[0]  # the oldest cluster survives a merge
        if len(clusters) == 1:
            self._join(locked[target], story_id, language, seen_at)
        else:
            self._merge(target, clusters[1:], story_id)
        best = max(matches, key=lambda m: m.similarity.jaccard)
        return Assignment(story_id, target, "copy", best, tuple(clusters[1:]))

    def candidates(self, signature: Signature, *, exclude: int | None = None) -> list[Row[Any]]:
        """Clustered stories sharing a band, most shared first: (story_id, cluster_id, shared)."""
        return lsh_bands.candidates(
            session=self.session,
            bands=signature.bands,
            exclude=-1 if exclude is None else exclude,
            limit=self.max_candidates,
            full_bands=self.params.bands,
        )

    def find_copies(self, signature: Signature, *, exclude: int | None = None) -> list[Match]:
        """At most one verified match per cluster, best-ranked candidate first (may be empty).

        More than one cluster means this story bridges reports that arrived out of
        order (two reprints that differ too much from each other, then the
        original): the clusters are then merged.
        """
        ranked = self.candidates(signature, exclude=exclude)
        if not ranked:
            return []
        texts = clusters.story_texts(
            session=self.session, story_ids=[row.story_id for row in ranked]
        )
        matches: dict[int, Match] = {}
        weak = 0
        for candidate in ranked:
            if candidate.cluster_id in matches or candidate.story_id not in texts:
                continue
            if not candidate.full and not self._leads_overlap(
                signature, texts[candidate.story_id][1]
            ):
                continue
            if candidate.shared == 1:
                weak += 1
                if weak > MAX_WEAK_CANDIDATES:
                    break
            stored, lead = verification_shingles(*texts[candidate.story_id], self.params)
            similarity = compare(signature.shingles, stored, signature.lead, lead, self.thresholds)
            if similarity.is_copy(self.thresholds):
                matches[candidate.cluster_id] = Match(
                    candidate.story_id, candidate.cluster_id, candidate.shared, similarity
                )
        return list(matches.values())

    def _leads_overlap(self, signature: Signature, stored_body: str) -> bool:
        """Do the two bodies begin alike? Reads only the start of the stored body."""
        words = self.params.lead_words
        mine = signature.lead[: max(words - self.params.shingle_size + 1, 1)]
        theirs = lead_shingles(stored_body, self.params)
        shorter = min(len(mine), len(theirs))
        if not shorter:
            return False
        shared = len(np.intersect1d(mine, theirs))
        return shared / shorter >= MIN_LEAD_OVERLAP

    def reindex(self, story_id: int, signature: Signature) -> None:
        """Replace a story's bands after its text changed; its cluster is kept."""
        self._check(signature)
        lsh_bands.delete_bands(session=self.session, story_id=story_id)
        self._insert_bands(story_id, signature.bands)

    def remove(self, story_id: int) -> Removal:
        """Take a story out of the index and its cluster; call before deleting the story row."""
        cluster_id = clusters.story_cluster(session=self.session, story_id=story_id)
        lsh_bands.delete_bands(session=self.session, story_id=story_id)
        if cluster_id is None:
            return Removal(story_id, None, False, None)
        self._lock_clusters([cluster_id])
        self._set_story_cluster(story_id, None)
        first = self.recount(cluster_id)
        if first is None:
            clusters.delete_cluster(session=self.session, cluster_id=cluster_id)
            return Removal(story_id, cluster_id, True, None)
        return Removal(story_id, cluster_id, False, first)

    def recount(self, cluster_id: int) -> int | None:
        """Size, languages and first story recomputed from the stories table (the truth).

        Returns the first story's id, or None when no story is left in the cluster.
        """
        members = clusters.members(session=self.session, cluster_id=cluster_id)
        if not members:
            return None
        first = min(members, key=lambda m: (_seen_at(m.published_at, m.fetched_at), m.id))
        self._update_cluster(
            cluster_id,
            size=len(members),
            languages=dict(Counter(m.language or UNKNOWN_LANGUAGE for m in members)),
            first_story_id=first.id,
            first_seen_at=_seen_at(first.published_at, first.fetched_at),
        )
        return int(first.id)

    def _check(self, signature: Signature) -> None:
        if signature.params != self.params:
            raise ValueError(
                f"signature made with {signature.params}, index uses {self.params}: "
                "recompute it with signature_for(title, body, index.params)"
            )

    def _story_cluster(self, story_id: int, bands: tuple[int, ...]) -> int | None:
        """The story's cluster (None: not assigned yet); takes the band locks first."""
        self.session.flush()  # a Story the caller added but did not flush yet
        exists, cluster_id = lsh_bands.lock_and_read_cluster(
            session=self.session, story_id=story_id, bands=bands
        )
        if not exists:
            raise NotFoundError(f"story {story_id} does not exist: insert it before assigning")
        return cluster_id

    def _insert_bands(self, story_id: int, bands: tuple[int, ...]) -> None:
        lsh_bands.insert_bands(session=self.session, story_id=story_id, bands=bands)

    def _new_cluster(self, story_id: int, language: str | None, seen_at: datetime) -> int:
        return clusters.new_cluster(
            session=self.session,
            story_id=story_id,
            seen_at=seen_at,
            languages={language or UNKNOWN_LANGUAGE: 1},
        )

    def _join(self, cluster: Row[Any], story_id: int, language: str | None, seen: datetime) -> None:
        key = language or UNKNOWN_LANGUAGE
        languages = dict(cluster.languages or {})
        languages[key] = int(languages.get(key, 0)) + 1
        changes: dict[str, Any] = {"size": (cluster.size or 0) + 1, "languages": languages}
        first_seen = cluster.first_seen_at
        if first_seen is None or seen < first_seen:
            changes.update(first_story_id=story_id, first_seen_at=seen)
        self._update_cluster(cluster.id, **changes)
        self._set_story_cluster(story_id, cluster.id)

    def _merge(self, target: int, absorbed: list[int], story_id: int) -> None:
        """Move every story of ``absorbed`` into ``target``, with the new story; recount."""
        clusters.merge_clusters(session=self.session, target=target, absorbed=absorbed)
        self._set_story_cluster(story_id, target)
        self.recount(target)

    def _lock_clusters(self, cluster_ids: list[int]) -> dict[int, Any]:
        """Row-lock clusters in id order (PostgreSQL), so joiners and mergers cannot deadlock."""
        return clusters.lock_clusters(session=self.session, cluster_ids=cluster_ids)

    def _current_clusters(self, matches: list[Match]) -> list[Match]:
        now = clusters.clusters_of(session=self.session, story_ids=[m.story_id for m in matches])
        unique: dict[int, Match] = {}
        for match in matches:
            if match.story_id in now:
                unique.setdefault(
                    now[match.story_id], replace(match, cluster_id=now[match.story_id])
                )
        return list(unique.values())

    def _update_cluster(self, cluster_id: int, **values: Any) -> None:
        clusters.update_cluster(session=self.session, cluster_id=cluster_id, **values)

    def _set_story_cluster(self, story_id: int, cluster_id: int | None) -> None:
        clusters.set_story_cluster(session=self.session, story_id=story_id, cluster_id=cluster_id)


def _seen_at(published_at: datetime | None, fetched_at: datetime | None) -> datetime:
    """When the story appeared: its publication time, else when it was fetched, else now."""
    moment = published_at or fetched_at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: attach a timezone (UTC)")
    return moment.astimezone(UTC)
