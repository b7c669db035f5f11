"""A fresh, empty database for one bench run: a SQLite file or a PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def fresh_database(kind: str, workdir: Path, postgres: str | None, prefix: str) -> Iterator[str]:
    """Yield the URL of a new database, dropped afterwards (PostgreSQL) or left in ``workdir``.

    ``postgres`` is a server URL whose user may create databases.
    """
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{prefix}-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert postgres is not None
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
