"""A topic's query as a plain search-engine string, for search-feed sources.

News search engines take words, "phrases" and OR, not our NEAR, fields or
entities. The string keeps what a story must contain: the words and phrases
outside NOT, each OR group as an OR group (an entity as its first few
aliases), NEAR as both sides, and drops NOT and metadata fields (lang:,
source:, domain:), which a search engine cannot see. It is a recall step: the
topic's own query still decides what matches once the stories are stored.
"""

from __future__ import annotations

from core.query.ast import And, Entity, Field, Near, Node, Not, Or, Phrase, Term
from core.query.query import Query

# Aliases of an entity put into the string: enough to find it, short enough to send.
ENTITY_ALIASES = 3
MAX_CHARS = 300


def search_string(query: Query) -> str:
    """The plain search string for ``query`` (empty when nothing positive is left)."""
    text = _render(query.root, top=True)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit(" ", 1)[0]
    return text


def _render(node: Node, *, top: bool = False) -> str:
    if isinstance(node, Term):
        return node.text.rstrip("*")
    if isinstance(node, Phrase):
        return '"' + " ".join(w.text.rstrip("*") for w in node.words) + '"'
    if isinstance(node, Near):
        return _join([_render(node.left), _render(node.right)], " ")
    if isinstance(node, And):
        return _join([_render(child) for child in node.children], " ")
    if isinstance(node, Or):
        parts = [_render(child) for child in node.children]
        return _group(parts, top=top)
    if isinstance(node, Not):
        return ""
    if isinstance(node, Field):
        return _render(node.child, top=top) if node.name == "title" else ""
    if isinstance(node, Entity):
        expansion = node.expansion
        if isinstance(expansion, Or):
            parts = [_render(c) for c in expansion.children[:ENTITY_ALIASES]]
            return _group(parts, top=top)
        return _render(expansion, top=top)
    raise TypeError(f"unknown query node {node!r}")


def _join(parts: list[str], sep: str) -> str:
    return sep.join(p for p in parts if p)


def _group(parts: list[str], *, top: bool) -> str:
    kept = [p for p in parts if p]
    if len(kept) <= 1:
        return kept[0] if kept else ""
    joined = " OR ".join(kept)
    return joined if top else f"({joined})"
