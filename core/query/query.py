"""The public query object: parse once, match many stories."""

from __future__ import annotations

from pathlib import Path

from core.query.aliases import AliasTable, default_aliases, load_aliases
from core.query.ast import And, Entity, Field, Near, Node, Phrase, Term, render
from core.query.document import AnalyzedDocument, Document, analyze_document
from core.query.matcher import Hit, Matcher, MatchResult, compile_node
from core.query.parser import parse_tree


class Query:
    """A parsed, compiled query. ``str(query)`` is its canonical text."""

    __slots__ = ("_matcher", "root", "text")

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.root = root
        self._matcher = compile_node(root)

    @property
    def matcher(self) -> Matcher:
        return self._matcher

    def match(self, doc: AnalyzedDocument | Document) -> MatchResult:
        """Whether the story matches, and which terms fired (in the story's own words)."""
        adoc = analyze_document(doc) if isinstance(doc, Document) else doc
        hits: list[Hit] = []
        if self._matcher.collect(adoc, hits):
            return MatchResult(True, hits, adoc)
        return MatchResult(False, [])

    def matches(self, doc: AnalyzedDocument | Document) -> bool:
        """Like :meth:`match` without collecting hits; cheaper."""
        adoc = analyze_document(doc) if isinstance(doc, Document) else doc
        return self._matcher.test(adoc)

    def required_terms(self) -> list[Node]:
        """Positive words, phrases and entities every matching story contains.

        Useful to pre-filter candidates in a full-text index before matching.
        """
        return _required(self.root)

    def __str__(self) -> str:
        return render(self.root)

    def __repr__(self) -> str:
        return f"Query({render(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)


def _required(node: Node) -> list[Node]:
    if isinstance(node, Term | Phrase | Entity):
        return [node]
    if isinstance(node, And):
        return [t for child in node.children for t in _required(child)]
    if isinstance(node, Near):
        return _required(node.left) + _required(node.right)
    if isinstance(node, Field) and node.name == "title":
        return _required(node.child)
    return []


def parse(text: str, aliases: AliasTable | str | Path | None = None) -> Query:
    """Parse a query; raises :class:`core.errors.QueryError` with the position.

    ``aliases`` is an :class:`AliasTable`, or the path of a user alias file that
    extends the bundled one, or None for the bundled entities alone.
    """
    if aliases is None:
        table = default_aliases()
    elif isinstance(aliases, AliasTable):
        table = aliases
    else:
        table = load_aliases(aliases)
    return Query(text, parse_tree(text, table))
