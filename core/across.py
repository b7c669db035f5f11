"""Searching across languages: a query word also finds its equivalents in the others.

An archive reader who types ``МВД`` wants the stories about the interior
ministry whatever their language: "interior ministry", "ВКД", "полиция". The
beat's lexicon (``data/lexicon.yaml``) and the alias table already say which
words mean the same in Russian, Tajik and English: each concept and each
entity is one query over all three. So each word or phrase of a search query
is looked up there, and when a concept says all of it (the concept's query
matches the word or phrase entirely, not just one of its words), the concept's
query is OR-ed beside it. ``"police station"`` gains the concept of police
stations abroad, not every police story; a word no concept knows stays as it is.

The result is an ordinary query tree, so the archive index, the matcher that
checks candidates, the highlighting and the "why it matched" quotes all treat
it like a query the reader wrote out in full. ``lang:``, ``source:`` and
``domain:`` values and ``@entities`` (already multilingual) are left alone.
"""

from __future__ import annotations

from functools import lru_cache

from core.lexicon import default_lexicon
from core.query import AliasTable, Document, Query, analyze_document, parse
from core.query.ast import And, Entity, Field, Near, Node, Not, Or, Phrase, Term
from core.query.normalize import WORD_RE
from core.query.quotes import hit_spans


def across_languages(query: Query, aliases: AliasTable | None = None) -> Query:
    """``query`` with each word or phrase OR-ed with the concepts that say the same."""
    root = _expand(query.root, aliases, positional=False)
    return query if root == query.root else Query(query.text, root)


def equivalents(leaf: Term | Phrase) -> tuple[str, ...]:
    """Names of the lexicon concepts (and entities) whose query matches all of ``leaf``."""
    return _equivalents(leaf)


def _expand(node: Node, aliases: AliasTable | None, positional: bool) -> Node:
    if isinstance(node, Term | Phrase):
        extra = [_concept_root(name, aliases) for name in _equivalents(node)]
        if positional:  # NEAR operands: only what can stand at a position
            extra = [p for p in (_positional_part(e) for e in extra) if p is not None]
        extra = [e for e in extra if e != node]
        return Or((node, *extra)) if extra else node
    if isinstance(node, And):
        expanded: Node = And(tuple(_expand(c, aliases, positional) for c in node.children))
        if not positional and len(node.children) > 1 and all(_plain(c) for c in node.children):
            # interior ministry (two words, no quotes) is also the concept of the phrase
            words = tuple(c for c in node.children if isinstance(c, Term))
            extra = [_concept_root(name, aliases) for name in _equivalents(Phrase(words))]
            if extra:
                expanded = Or((expanded, *extra))
        return expanded
    if isinstance(node, Or):
        return Or(tuple(_expand(c, aliases, positional) for c in node.children))
    if isinstance(node, Not):
        return Not(_expand(node.child, aliases, positional))
    if isinstance(node, Near):
        return Near(
            _expand(node.left, aliases, True), _expand(node.right, aliases, True), node.distance
        )
    if isinstance(node, Field) and node.name == "title":
        return Field(node.name, _expand(node.child, aliases, positional))
    return node  # entities, and lang:/source:/domain: values


def _plain(node: Node) -> bool:
    return isinstance(node, Term) and not node.wildcard and not node.exact


def _leaf_text(leaf: Term | Phrase) -> str:
    words = leaf.words if isinstance(leaf, Phrase) else (leaf,)
    return " ".join(w.text for w in words)


@lru_cache(maxsize=4096)
def _equivalents(leaf: Term | Phrase) -> tuple[str, ...]:
    text = _leaf_text(leaf)
    words = [m.span() for m in WORD_RE.finditer(text)]
    if not words:
        return ()
    doc = analyze_document(Document(text=text))
    names = []
    for name, result in default_lexicon().match(doc):
        covered = hit_spans(result.hits).get("text", [])
        if all(any(a <= s and e <= b for a, b in covered) for s, e in words):
            names.append(name)
    return tuple(names)


def _concept_root(name: str, aliases: AliasTable | None) -> Node:
    if aliases is None:
        return _default_concept_root(name)
    return parse(default_lexicon().concepts[name].query, aliases).root


@lru_cache(maxsize=512)
def _default_concept_root(name: str) -> Node:
    return parse(default_lexicon().concepts[name].query).root


def _positional_part(node: Node) -> Node | None:
    """The part of ``node`` that NEAR can use: the whole, or its positional alternatives."""
    if _is_positional(node):
        return node
    if isinstance(node, Or):
        kept = [c for c in node.children if _is_positional(c)]
        if kept:
            return kept[0] if len(kept) == 1 else Or(tuple(kept))
    return None


def _is_positional(node: Node) -> bool:
    if isinstance(node, Term | Phrase | Entity | Near):
        return True
    if isinstance(node, Or):
        return all(_is_positional(c) for c in node.children)
    if isinstance(node, Field) and node.name == "title":
        return _is_positional(node.child)
    return False
