"""Admin changes made from the web app and the API, checked as the CLI checks them.

A source URL must pass the crawler's address policy (no private hosts unless
allowed) and a topic query must parse before anything is written.
"""

from __future__ import annotations

from core.netguard import AddressPolicy
from core.query import parse
from core.settings import Settings
from db import queries
from db.models import Source, SourceKind, Topic
from db.session import unit_of_work
from sqlalchemy.orm import Session, sessionmaker
from wirewatch.catalog import check_source_url


def save_source(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    name: str,
    url: str,
    kind: SourceKind = SourceKind.FEED,
    language: str | None = None,
    interval_minutes: int | None = None,
) -> tuple[Source, bool]:
    """Add a source or update the one with this name; raises SourceError for a refused URL."""
    checked = check_source_url(url, kind, AddressPolicy.from_settings(settings))
    with unit_of_work(factory) as session:
        source, created = queries.upsert_source(
            session=session,
            name=name.strip(),
            url=checked,
            kind=kind,
            language=language or None,
            interval_minutes=interval_minutes or settings.default_crawl_interval_minutes,
        )
        session.expunge(source)
    return source, created


def set_source_enabled(factory: sessionmaker[Session], name: str, enabled: bool) -> Source:
    with unit_of_work(factory) as session:
        source = queries.get_source(session=session, name=name)
        source.enabled = enabled
        session.flush()
        session.expunge(source)
    return source


def set_topic_enabled(factory: sessionmaker[Session], slug: str, enabled: bool) -> Topic:
    """A disabled topic matches no new stories; its earlier matches stay."""
    with unit_of_work(factory) as session:
        topic = queries.get_topic(session=session, slug=slug)
        topic.enabled = enabled
        session.flush()
        session.expunge(topic)
    return topic


def save_topic(
    factory: sessionmaker[Session], *, slug: str, name: str, query: str, definition: str = ""
) -> tuple[Topic, bool]:
    """Add or change a topic; raises QueryError (with the position) for a query that does not parse."""
    parse(query)
    with unit_of_work(factory) as session:
        topic, created = queries.upsert_topic(
            session=session, slug=slug, name=name.strip(), query=query, definition=definition
        )
        session.expunge(topic)
    return topic, created
