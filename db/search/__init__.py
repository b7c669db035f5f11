"""Full-text archive search on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

    page = search(session, SearchRequest(query="МВД AND Москва", since=..., limit=20))
    page.hits          # SearchHit(story, source_name, why, title_html, snippet_html, event, ...)
    page.next_cursor   # pass back as SearchRequest(cursor=...) for the next page
    facets(session, SearchRequest(query=...))   # counts per day and per language
    sync(session)      # bring the index up to date with changed stories
    index_analysed(session, {story_id: adoc})  # index stories from analyses made already

The index is kept in step by triggers (every write to ``stories`` queues the
story) and drained by :func:`sync`; see docs/archive.md.
"""

from db.search.facets import Facets, facets
from db.search.indexer import SyncResult, index_analysed, pending_count, rebuild, sync
from db.search.request import MAX_LIMIT, SearchRequest, SearchRequestError, Sort
from db.search.schema import TABLES
from db.search.searcher import EventSummary, SearchHit, SearchPage, scan, search

__all__ = [
    "MAX_LIMIT",
    "TABLES",
    "EventSummary",
    "Facets",
    "SearchHit",
    "SearchPage",
    "SearchRequest",
    "SearchRequestError",
    "Sort",
    "SyncResult",
    "facets",
    "index_analysed",
    "pending_count",
    "rebuild",
    "scan",
    "search",
    "sync",
]
