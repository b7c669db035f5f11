"""Topic query language: parse queries, analyse stories, match them, explain why.

    q = parse('(@tj-interior-ministry OR полиция) NEAR/10 представительство')
    adoc = analyze_document(Document(title=..., text=...))
    result = q.match(adoc)          # MatchResult(matched, hits); result.why → labels

The grammar is described in docs/query-language.md.
"""

from wirewatch.errors import QueryError
from wirewatch.query.aliases import (
    AliasTable,
    EntityDefinition,
    default_aliases,
    load_aliases,
)
from wirewatch.query.ast import render
from wirewatch.query.document import AnalyzedDocument, Document, analyze_document
from wirewatch.query.matcher import Hit, MatchResult
from wirewatch.query.percolator import TopicIndex
from wirewatch.query.query import Query, parse
from wirewatch.query.translit import variants as transliterations

__all__ = [
    "AliasTable",
    "AnalyzedDocument",
    "Document",
    "EntityDefinition",
    "Hit",
    "MatchResult",
    "Query",
    "QueryError",
    "TopicIndex",
    "analyze_document",
    "default_aliases",
    "load_aliases",
    "parse",
    "render",
    "transliterations",
]
