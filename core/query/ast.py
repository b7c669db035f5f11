"""The query syntax tree: plain frozen dataclasses, no behaviour but rendering.

Kept free of matching logic so other back-ends (SQLite FTS5, PostgreSQL
tsquery) can walk the same tree. Words are stored as the user wrote them;
analysis (folding, stemming, transliteration) happens when a tree is compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT_FIELDS = frozenset({"title"})
META_FIELDS = frozenset({"lang", "source", "domain"})
FIELDS = TEXT_FIELDS | META_FIELDS

# Binding strength, loosest first; used to decide where parentheses are needed.
_OR, _AND, _NOT, _NEAR, _ATOM = range(5)


@dataclass(frozen=True, slots=True)
class Term:
    """One word; ``wildcard``: any word starting with text; ``exact``: this
    word form only (folded, not stemmed)."""

    text: str
    wildcard: bool = False
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in this order; ``slop`` extra words may stand between them in total."""

    words: tuple[Term, ...]
    slop: int = 0


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides in either order with at most ``distance`` words between them."""

    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Field:
    """``name:child``: title restricts words to the title; lang/source/domain
    compare the child's words with the story's metadata."""

    name: str
    child: Node


@dataclass(frozen=True, slots=True)
class Entity:
    """``@name``: one of the entity's aliases; ``expansion`` is their OR.

    ``exceptions`` (the OR of the entity's ``not_within`` patterns, or None):
    a place the expansion matched does not count when it lies inside a place
    one of these matched. Back-ends that cannot check positions may ignore it
    and treat the expansion as a superset.
    """

    name: str
    label: str
    expansion: Node
    exceptions: Node | None = None


Node = Term | Phrase | Near | And | Or | Not | Field | Entity


def render(node: Node) -> str:
    """Canonical text of a tree: explicit operators, minimal parentheses.

    Parsing the result gives an equal tree.
    """
    return _render(node)


def _strength(node: Node) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, Near):
        return _NEAR
    return _ATOM


def _wrap(node: Node, minimum: int) -> str:
    text = _render(node)
    return f"({text})" if _strength(node) < minimum else text


def _render(node: Node) -> str:
    if isinstance(node, Term):
        return render_term(node)
    if isinstance(node, Phrase):
        inner = " ".join(_render_word(w) for w in node.words)
        return f'"{inner}"' + (f"~{node.slop}" if node.slop else "")
    if isinstance(node, Near):
        return f"{_wrap(node.left, _NEAR)} NEAR/{node.distance} {_wrap(node.right, _ATOM)}"
    if isinstance(node, And):
        return " AND ".join(_wrap(c, _NOT) for c in node.children)
    if isinstance(node, Or):
        return " OR ".join(_wrap(c, _AND) for c in node.children)
    if isinstance(node, Not):
        return "NOT " + _wrap(node.child, _NOT)
    if isinstance(node, Field):
        return f"{node.name}:{_wrap(node.child, _ATOM)}"
    return "@" + node.name


_OPERATORS = frozenset({"AND", "OR", "NOT"})
_SPECIAL = set('"()~:') | {" "}


def _render_word(term: Term) -> str:
    escaped = term.text.replace("\\", "\\\\").replace('"', '\\"')
    return ("=" if term.exact else "") + escaped + ("*" if term.wildcard else "")


def render_term(term: Term) -> str:
    """A bare word, or a one-word phrase when bare it would read as syntax."""
    text = term.text
    if (
        text in _OPERATORS
        or text.startswith(("NEAR/", "-", "@", "="))
        or any(ch in _SPECIAL for ch in text)
        or text.endswith("*")
    ):
        return f'"{_render_word(term)}"'
    return _render_word(term)
