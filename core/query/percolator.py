"""Match one story against many stored topics without trying every topic.

Each topic is filed under the keys of one clause it cannot match without (for
an AND, its most selective required term; for an OR, every branch's keys). A
story then only reaches the topics filed under keys it contains, plus the few
that have no required term at all (pure NOT, metadata only), which are always
checked. Before the real evaluation, every required clause of a candidate is
checked against the story's key set, which rejects most candidates with a few
set look-ups.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic

from typing_extensions import TypeVar

from core.query.document import AnalyzedDocument
from core.query.matcher import Clause, Matcher, MatchResult, clause_score
from core.query.query import Query

# Callers use their own id type (database ids, slugs); unparametrised it is Any.
TopicId = TypeVar("TopicId", bound=Hashable, default=Any)


@dataclass(frozen=True, slots=True)
class _Entry(Generic[TopicId]):
    order: int
    topic_id: TopicId
    query: Query
    matcher: Matcher
    clauses: tuple[Clause, ...]
    key: Clause | None


class TopicIndex(Generic[TopicId]):
    """A percolator over topic queries.

    ``frequencies`` (key → how many stories contain it, e.g. counted over the
    archive) makes the index pick the rarest required term per topic; without
    it, the longest stem is taken as the rarest.
    """

    def __init__(self, frequencies: Mapping[str, int] | None = None) -> None:
        self._frequencies = frequencies
        self._entries: dict[TopicId, _Entry[TopicId]] = {}
        self._postings: dict[str, list[_Entry[TopicId]]] = {}
        self._always: list[_Entry[TopicId]] = []
        self._counter = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self._entries

    def add(self, topic_id: TopicId, query: Query) -> None:
        """File a topic; adding an id again replaces its query."""
        if topic_id in self._entries:
            self.remove(topic_id)
        clauses = tuple(query.matcher.clauses())
        key = min(clauses, key=self._score) if clauses else None
        entry = _Entry(self._counter, topic_id, query, query.matcher, clauses, key)
        self._counter += 1
        self._entries[topic_id] = entry
        if key is None:
            self._always.append(entry)
        else:
            for k in key:
                self._postings.setdefault(k, []).append(entry)

    def remove(self, topic_id: TopicId) -> None:
        entry = self._entries.pop(topic_id)
        if entry.key is None:
            self._always.remove(entry)
            return
        for k in entry.key:
            bucket = self._postings[k]
            bucket.remove(entry)
            if not bucket:
                del self._postings[k]

    def keys_of(self, topic_id: TopicId) -> frozenset[str] | None:
        """The keys a topic is filed under; None when it is checked for every story."""
        return self._entries[topic_id].key

    def candidates(self, doc: AnalyzedDocument) -> list[TopicId]:
        """Topics that survive the key look-up and clause check (before evaluation)."""
        return [entry.topic_id for entry in self._candidates(doc)]

    def match(self, doc: AnalyzedDocument) -> list[tuple[TopicId, MatchResult]]:
        """Matching topics, in the order they were added, each with its hits."""
        return [
            (entry.topic_id, entry.query.match(doc))
            for entry in self._candidates(doc)
            if entry.matcher.test(doc)
        ]

    def matching(self, doc: AnalyzedDocument) -> list[TopicId]:
        """Matching topics without their hits: what a caller that only needs the names
        (the event signature's concepts) asks, at the cost of the yes/no check alone."""
        return [entry.topic_id for entry in self._candidates(doc) if entry.matcher.test(doc)]

    def _candidates(self, doc: AnalyzedDocument) -> list[_Entry[TopicId]]:
        postings = self._postings
        keys = doc.postings.keys()
        found: dict[int, _Entry[TopicId]] = {}
        if len(keys) <= len(postings):
            for k in keys:
                bucket = postings.get(k)
                if bucket is not None:
                    for entry in bucket:
                        found[entry.order] = entry
        else:
            for k, bucket in postings.items():
                if k in keys:
                    for entry in bucket:
                        found[entry.order] = entry
        for entry in self._always:
            found[entry.order] = entry
        selected = [
            entry
            for entry in found.values()
            if all(not keys.isdisjoint(clause) for clause in entry.clauses)
        ]
        selected.sort(key=lambda e: e.order)
        return selected

    def _score(self, clause: Clause) -> tuple[int, int]:
        if self._frequencies is None:
            return clause_score(clause)
        frequencies = self._frequencies
        return (sum(frequencies.get(k, 0) for k in clause), len(clause))
