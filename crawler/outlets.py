"""Stories found through a search feed belong to the outlets that published them.

A search feed (kind ``search``) only points at other outlets' pages. Each such
story is filed under the source for its page's host, read from the address
the page was finally fetched from (a search engine's redirect link resolves to
the outlet): a stored source on that host, else a disabled section source
created for the outlet (``db.sources.outlet_source``). The archive, digests and
counts then name the outlet, not the search engine. Runs in the story's
storage transaction.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from db import sources
from sqlalchemy.orm import Session

from crawler.items import StoryItem


def file_under_outlet(session: Session, item: StoryItem) -> None:
    parts = urlsplit(item.url)
    if not parts.netloc:
        return
    outlet = sources.outlet_source(
        session=session, host=parts.netloc.lower(), scheme=parts.scheme or "https"
    )
    item.source_id = outlet.id
    item.source_name = outlet.name
