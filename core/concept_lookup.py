"""Which lexicon concepts a story has, by look-ups rather than by testing each concept.

Every concept of the lexicon is an OR of many words (``полици* OR МВД OR
police OR ...``), and an entity without exceptions is the OR of its aliases.
Tested one by one, a story reaching a concept through the percolator still
tries its branches in turn: about 0.25 ms a story for the whole lexicon, paid
by every story the relevance model reads and by every event signature. The
branches are split here, once, into:

- plain words: their stem keys, one dict from key to concepts, intersected
  with the story's keys (a set operation in C);
- exact forms (``=office``): one dict from form to concepts;
- prefixes (``мигрант*``): filed under their first three characters, checked
  only when the story has a word beginning with those three;
- everything else (phrases, AND, NEAR, NOT, ``title:``, entities with
  exceptions): filed in a percolator of their own and tested as before, and
  only when no earlier branch already gave the story that concept.

A concept is found exactly when one of its branches' own test is true, which
is how the OR matcher decides: the answer is the same set of names.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.query import AnalyzedDocument, Query, TopicIndex, render
from core.query.ast import Entity, Node, Or, Term
from core.query.matcher import TermMatcher
from core.query.stemming import PREFIX_KEY_LEN

HEAD = PREFIX_KEY_LEN  # prefixes are filed under this many leading characters


def branches(node: Node) -> list[Node]:
    """The alternatives of an OR (and of an entity that has no exceptions), flattened."""
    if isinstance(node, Or):
        return [branch for child in node.children for branch in branches(child)]
    if isinstance(node, Entity) and node.exceptions is None:
        return branches(node.expansion)
    return [node]


class ConceptLookup:
    """The concepts of many queries, found for one story with set look-ups."""

    def __init__(self, roots: Mapping[str, Node]) -> None:
        self._by_key: dict[str, set[str]] = {}
        self._by_form: dict[str, set[str]] = {}
        self._by_head: dict[str, list[tuple[str, str]]] = {}
        self._short: list[tuple[str, str]] = []  # prefixes shorter than HEAD
        self._rest: TopicIndex[int] = TopicIndex()
        self._rest_names: list[str] = []
        self._rest_queries: list[Query] = []
        for name, root in roots.items():
            for branch in branches(root):
                self._file(name, branch)

    def _file(self, name: str, branch: Node) -> None:
        if isinstance(branch, Term):
            term = TermMatcher(branch, title_only=False)
            if term.prefix is not None:
                if len(term.prefix) >= HEAD:
                    self._by_head.setdefault(term.prefix[:HEAD], []).append((term.prefix, name))
                else:
                    self._short.append((term.prefix, name))
            elif term.exact is not None:
                self._by_form.setdefault(term.exact, set()).add(name)
            else:
                for key in term.keys:
                    self._by_key.setdefault(key, set()).add(name)
            return
        query = Query(render(branch), branch)
        self._rest.add(len(self._rest_queries), query)
        self._rest_queries.append(query)
        self._rest_names.append(name)

    def concepts_of(self, doc: AnalyzedDocument) -> set[str]:
        found: set[str] = set()
        by_key, by_form = self._by_key, self._by_form
        for key in by_key.keys() & doc.postings.keys():
            found |= by_key[key]
        for form in by_form.keys() & doc.forms.keys():
            found |= by_form[form]
        by_head = self._by_head
        heads = {form[:HEAD] for form in doc.forms if len(form) >= HEAD}
        for head in by_head.keys() & heads:
            for prefix, name in by_head[head]:
                if name not in found and doc.forms_starting(prefix):
                    found.add(name)
        for prefix, name in self._short:
            if name not in found and doc.forms_starting(prefix):
                found.add(name)
        names, queries = self._rest_names, self._rest_queries
        for i in self._rest.candidates(doc):
            if names[i] not in found and queries[i].matcher.test(doc):
                found.add(names[i])
        return found
