"""A query tree lowered to index tokens: what each back-end translates.

Lowering resolves everything that needs Python (folding, stemming,
transliteration keys, which sources a ``source:`` value names) once per
query, into a small tree of token sets. Each back-end then renders that tree
in its own syntax (FTS5 MATCH, tsquery) and says whether the rendering is
*exact* (the database alone gives the matcher's answer) or a *superset*
(candidates that the matcher then checks).

Words are looked up by the same keys the matcher uses, so single words,
``=exact`` forms, ``prefix*`` wildcards and metadata fields are exact on both
back-ends; phrases and NEAR are exact where the back-end can express the
positions (see the renderers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.query.ast import And, Entity, Field, Near, Node, Not, Or, Phrase, Term
from core.query.document import Document, analyze_document
from core.query.matcher import MetaMatcher, TermMatcher

from db.search.tokens import (
    DOMAIN,
    FORM,
    LANG,
    MAX_KEY_CHARS,
    NOTHING,
    SOURCE,
    clean_value,
    key_token,
)


@dataclass(frozen=True, slots=True)
class Word:
    """One query word: any of ``tokens`` (or a token starting with ``prefix``) at one position."""

    tokens: tuple[str, ...]
    prefix: str | None
    title: bool

    @property
    def alternatives(self) -> int:
        return len(self.tokens) + (self.prefix is not None)


@dataclass(frozen=True, slots=True)
class PhraseP:
    words: tuple[Word, ...]
    slop: int
    title: bool


@dataclass(frozen=True, slots=True)
class NearP:
    left: Positional
    right: Positional
    distance: int
    title: bool


@dataclass(frozen=True, slots=True)
class AnyOf:
    """OR of positional alternatives (entity aliases, ``(a OR "b c") NEAR/3 d``).

    ``superset``: the alternatives find more than the query means (an entity
    whose ``not_within`` patterns only the matcher can check).
    """

    children: tuple[Positional, ...]
    superset: bool = False


Positional = Word | PhraseP | NearP | AnyOf


@dataclass(frozen=True, slots=True)
class Meta:
    """Any of these metadata tokens (``prefix``: a token starting with it)."""

    tokens: tuple[str, ...]
    prefix: str | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class EitherOf:
    children: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class Without:
    child: Plan


@dataclass(frozen=True, slots=True)
class Unknown:
    """A condition the index cannot decide: the matcher must (renders as "anything")."""


Plan = Positional | Meta | AllOf | EitherOf | Without | Unknown

NO_MATCH = Meta((NOTHING,))


def lower(root: Node, sources: Mapping[int, str]) -> Plan:
    """``root`` as index tokens; ``sources`` (id → name) resolves ``source:`` values."""
    return _Lowering(sources).node(root, title=False, meta=None)


class _Lowering:
    def __init__(self, sources: Mapping[int, str]) -> None:
        self.sources = sources
        self._source_docs = {
            sid: analyze_document(Document(source=name)) for sid, name in sources.items()
        }

    def node(self, node: Node, *, title: bool, meta: str | None) -> Plan:
        if isinstance(node, Term):
            return self.meta_term(meta, node) if meta else self.word(node, title)
        if isinstance(node, Phrase):
            return PhraseP(tuple(self.word(w, title) for w in node.words), node.slop, title)
        if isinstance(node, And):
            return AllOf(tuple(self.node(c, title=title, meta=meta) for c in node.children))
        if isinstance(node, Or):
            children = tuple(self.node(c, title=title, meta=meta) for c in node.children)
            if all(_is_positional(c) for c in children):
                return AnyOf(tuple(c for c in children if _is_positional(c)))  # type: ignore[misc]
            return EitherOf(children)
        if isinstance(node, Not):
            return Without(self.node(node.child, title=title, meta=meta))
        if isinstance(node, Field):
            if node.name == "title":
                return self.node(node.child, title=True, meta=None)
            return self.node(node.child, title=False, meta=node.name)
        if isinstance(node, Near):
            left = self.node(node.left, title=title, meta=None)
            right = self.node(node.right, title=title, meta=None)
            if not (_is_positional(left) and _is_positional(right)):
                raise TypeError("NEAR needs positional operands")
            return NearP(left, right, node.distance, title)  # type: ignore[arg-type]
        if isinstance(node, Entity):
            expansion = self.node(node.expansion, title=title, meta=None)
            if node.exceptions is None:
                return expansion
            assert _is_positional(expansion)
            return AnyOf((expansion,), superset=True)  # type: ignore[arg-type]
        raise TypeError(f"not a query node: {node!r}")

    @staticmethod
    def word(term: Term, title: bool) -> Word:
        matcher = TermMatcher(term, title)
        if matcher.prefix is not None:
            return Word((), FORM + matcher.prefix, title)
        if matcher.exact is not None:
            form = matcher.exact
            exact = FORM + form if len(form) <= MAX_KEY_CHARS else NOTHING
            return Word((exact,), None, title)
        tokens = tuple(sorted(t for t in map(key_token, matcher.keys) if t is not None))
        return Word(tokens or (NOTHING,), None, title)

    def meta_term(self, name: str, term: Term) -> Plan:
        matcher = MetaMatcher(name, term)
        if name == "source":
            ids = sorted(sid for sid, doc in self._source_docs.items() if matcher.test(doc))
            return Meta(tuple(SOURCE + str(sid) for sid in ids)) if ids else NO_MATCH
        value = matcher.value
        if not clean_value(value):
            return Unknown()
        marker = LANG if name == "lang" else DOMAIN
        if matcher.wildcard:
            return Meta((), marker + value)
        return Meta((marker + value,))


def _is_positional(plan: Plan) -> bool:
    return isinstance(plan, Word | PhraseP | NearP | AnyOf)


def single_words(plan: Positional) -> list[Word] | None:
    """The words of a positional plan that is one word or an OR of single words, else None."""
    if isinstance(plan, Word):
        return [plan]
    if isinstance(plan, AnyOf):
        if plan.superset:
            return None
        words: list[Word] = []
        for child in plan.children:
            found = single_words(child)
            if found is None:
                return None
            words.extend(found)
        return words
    return None


def has_positions(plan: Plan) -> bool:
    """Does the plan contain phrases or NEAR (whose exactness depends on word positions)?"""
    if isinstance(plan, PhraseP | NearP):
        return True
    if isinstance(plan, AnyOf | AllOf | EitherOf):
        return any(has_positions(c) for c in plan.children)
    if isinstance(plan, Without):
        return has_positions(plan.child)
    return False


__all__ = [
    "NO_MATCH",
    "AllOf",
    "AnyOf",
    "EitherOf",
    "Meta",
    "NearP",
    "PhraseP",
    "Plan",
    "Positional",
    "Unknown",
    "Without",
    "Word",
    "has_positions",
    "lower",
    "single_words",
]
