"""Topic query language: parse queries, analyse stories, match them, explain why.

    q = parse('(@tj-interior-ministry OR полиция) NEAR/10 представительство')
    adoc = analyze_document(Document(title=..., text=...))
    result = q.match(adoc)          # MatchResult(matched, hits); result.why → labels

The grammar is described in docs/query-language.md.
"""

from core.errors import QueryError
from core.query.aliases import (
    AliasTable,
    EntityDefinition,
    default_aliases,
    load_aliases,
)
from core.query.ast import render
from core.query.document import AnalyzedDocument, Document, analyze_document
from core.query.matcher import Hit, MatchResult
from core.query.percolator import TopicIndex
from core.query.query import Query, parse
from core.query.translit import variants as transliterations

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
