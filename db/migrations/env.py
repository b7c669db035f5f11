"""Alembic environment: URL from wirewatch settings, batch mode on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from db.models import Base, UTCDateTime
from db.search.schema import TABLES as SEARCH_TABLES
from db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from core.settings import get_settings

    return get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_database_url())
    with engine.connect() as conn, _sqlite_foreign_keys_off(conn):
        _run(conn)
    engine.dispose()


@contextmanager
def _sqlite_foreign_keys_off(conn: Connection) -> Iterator[None]:
    """Let a migration rebuild a table that others reference (SQLite's 12-step ALTER).

    With enforcement on, dropping the old copy of a table deletes every row
    that references it (``ON DELETE CASCADE``). The pragma is ignored inside a
    transaction, so it is set on the driver connection before alembic begins
    one, and set back before the connection goes back to the pool.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write our UTC column type as the plain DateTime it stores, so migrations stay standalone."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Tables not described by our models: APScheduler's job store, and the search
# index (an FTS5 virtual table with its shadow tables, a tsvector table, the queue
# its triggers fill), which db/search/schema.py creates with raw SQL per dialect.
FOREIGN_TABLES = {"apscheduler_jobs"} | set(SEARCH_TABLES)


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
