"""The beat's vocabulary as concepts that hold across Russian, Tajik and English.

Each concept of ``data/lexicon.yaml`` is a small query in the topic language,
and every entity of the alias table is a concept too, so a story analysed once
yields the same concept names whichever language it was written in: "МВД
открыло представительство" and "ВКД намояндагӣ кушод" and "the interior
ministry opened an office" all have ``police``, ``office`` and ``open``.
Grouping reports of one event (crawler/events) compares these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from core import vocabulary_cache
from core.concept_lookup import ConceptLookup
from core.errors import ConfigError, QueryError
from core.query import AnalyzedDocument, MatchResult, TopicIndex, parse
from core.query.aliases import SAFE_LOADER, default_aliases
from core.query.ast import Node

DEFAULT_LEXICON_FILE = vocabulary_cache.LEXICON_FILE
KINDS = ("thing", "action", "place", "entity")


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    kind: str
    query: str


class Lexicon:
    """Concepts filed in one percolator index: a story is checked against all at once."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts: dict[str, Concept] = {}
        self._index: TopicIndex[str] = TopicIndex()
        roots: dict[str, Node] = {}
        for concept in concepts:
            if concept.kind not in KINDS:
                raise ConfigError(f"concept {concept.name!r}: unknown kind {concept.kind!r}")
            try:
                query = parse(concept.query)
            except QueryError as exc:
                raise ConfigError(f"concept {concept.name!r} does not parse: {exc}") from exc
            self._index.add(concept.name, query)
            roots[concept.name] = query.root
            self.concepts[concept.name] = concept
        # Only the names, for every story the relevance model or an event
        # signature reads: look-ups instead of each concept's test (same names).
        self._lookup = ConceptLookup(roots)

    def __len__(self) -> int:
        return len(self.concepts)

    def concepts_of(self, document: AnalyzedDocument) -> frozenset[str]:
        """The names of every concept the story mentions."""
        return frozenset(self._lookup.concepts_of(document))

    def match(self, document: AnalyzedDocument) -> list[tuple[str, MatchResult]]:
        """Each concept the story mentions, with the hits that show where."""
        return self._index.match(document)

    def kind(self, name: str) -> str:
        return self.concepts[name].kind


def load_lexicon(path: Path = DEFAULT_LEXICON_FILE) -> Lexicon:
    """The concepts of ``path`` plus one per entity of the bundled alias table."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the lexicon {path}: {exc}") from exc
    concepts = [
        Concept(name, str(entry.get("kind", "thing")), str(entry["query"]))
        for name, entry in (data.get("concepts") or {}).items()
    ]
    known = {concept.name for concept in concepts}
    concepts += [
        Concept(name, "entity", f"@{name}")
        for name in default_aliases().names()
        if name not in known
    ]
    return Lexicon(concepts)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The bundled lexicon: from the vocabulary cache when it is current, else built from
    YAML and then cached (``core.vocabulary_cache``)."""
    where = vocabulary_cache.location()
    cached = None if where is None else vocabulary_cache.load(*where)
    if cached is not None:
        return cached
    lexicon = load_lexicon()
    if where is not None:
        vocabulary_cache.store(*where, lexicon)
    return lexicon
