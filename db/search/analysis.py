"""Analyse a story only as far as one query needs: the matcher's answer, much sooner.

Checking a candidate and highlighting a hit run the topic matcher, which reads
an analysed story. Full analysis stems every word three ways; a query needs
the keys of only a few. A word can carry one of the query's keys only if:

* Cyrillic: it starts with one of the query's Russian or Tajik stems, or does
  so behind the Tajik present prefix "ме-"/"наме-" (the stemmers strip endings
  and that prefix only, and words are folded first), or its
  transliteration skeleton starts with one of the query's skeleton keys (the
  key is the skeleton with endings stripped);
* Latin: it starts with the first letter of one of the query's English stems
  (the English stemmer never changes the first letter), or its skeleton starts
  with one of the query's skeleton keys;
* anything else: it is one of the query's words as written.

Other words keep their forms and positions (exact ``=`` and wildcard terms
read those) but are not stemmed, so the matcher sees every key it asks for
and gives the same answer as on a fully analysed story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from core.query import Query
from core.query.ast import And, Entity, Field, Near, Node, Not, Or, Phrase, Term
from core.query.document import AnalyzedDocument, Document, analyze_document
from core.query.matcher import TermMatcher
from core.query.normalize import Script, script_of
from core.query.stemming import STRIPPED_FRONTS
from core.query.translit import cyrillic_skeleton, latin_skeleton


@dataclass(frozen=True)
class KeyFilter:
    """Which document words may carry a key the query looks up."""

    cyrillic_prefixes: tuple[str, ...]
    latin_initials: frozenset[str]
    other_forms: frozenset[str]
    cyrillic_skeletons: tuple[str, ...]  # transliteration keys a Cyrillic word may have
    latin_skeletons: tuple[str, ...]  # transliteration keys a Latin word may have
    _seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def wants(self, form: str) -> bool:
        known = self._seen.get(form)
        if known is None:
            known = self._seen[form] = self._wants(form)
        return known

    def _wants(self, form: str) -> bool:
        script = _script(form)
        if script is Script.CYRILLIC:
            return self._starts_with_stem(form) or (
                bool(self.cyrillic_skeletons)
                and cyrillic_skeleton(form).startswith(self.cyrillic_skeletons)
            )
        if script is Script.LATIN:
            return form[:1] in self.latin_initials or (
                bool(self.latin_skeletons) and latin_skeleton(form).startswith(self.latin_skeletons)
            )
        return form in self.other_forms

    def _starts_with_stem(self, form: str) -> bool:
        if not self.cyrillic_prefixes:
            return False
        if form.startswith(self.cyrillic_prefixes):
            return True
        for front in STRIPPED_FRONTS:
            if form.startswith(front):
                return form[len(front) :].startswith(self.cyrillic_prefixes)
        return False

    @classmethod
    def of(cls, query: Query | None) -> KeyFilter:
        prefixes: set[str] = set()
        initials: set[str] = set()
        others: set[str] = set()
        cyrillic_skeletons: set[str] = set()
        latin_skeletons: set[str] = set()
        for term, title in _terms(query.root, False) if query is not None else ():
            matcher = TermMatcher(term, title)
            if matcher.prefix is not None or matcher.exact is not None:
                continue  # these read word forms, which every word keeps
            for key in matcher.keys:
                family, _, value = key.partition(":")
                if family in ("r", "t"):
                    prefixes.add(value)
                elif family == "e":
                    initials.add(value[:1])
                elif family == "n":
                    others.add(value)
                elif family == "xc":
                    cyrillic_skeletons.add(value)
                elif family == "xl":
                    latin_skeletons.add(value)
        return cls(
            tuple(sorted(prefixes)),
            frozenset(initials),
            frozenset(others),
            tuple(sorted(cyrillic_skeletons)),
            tuple(sorted(latin_skeletons)),
        )


@lru_cache(maxsize=262_144)
def _script(form: str) -> Script:
    return script_of(form)


def _terms(node: Node, title: bool) -> list[tuple[Term, bool]]:
    if isinstance(node, Term):
        return [(node, title)]
    if isinstance(node, Phrase):
        return [(w, title) for w in node.words]
    if isinstance(node, And | Or):
        return [t for child in node.children for t in _terms(child, title)]
    if isinstance(node, Not):
        return _terms(node.child, title)
    if isinstance(node, Near):
        return _terms(node.left, title) + _terms(node.right, title)
    if isinstance(node, Entity):
        return _terms(node.expansion, title)
    if isinstance(node, Field):
        return _terms(node.child, True) if node.name == "title" else []
    return []


def analyze_for(document: Document, keys: KeyFilter) -> AnalyzedDocument:
    """Like :func:`core.query.analyze_document`, with only the keys ``keys`` wants."""
    return analyze_document(document, stem_only=keys.wants)
