"""A scratch PostgreSQL database for one bench run, dropped when the run ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.session import make_engine


@contextmanager
def scratch_postgres(server_url: str, prefix: str = "bench") -> Iterator[str]:
    """Yield the URL of a new, empty database on ``server_url``, dropped afterwards.

    ``server_url``'s user must be allowed to create databases. Each run gets its
    own, so interleaved rounds and other benches never see each other's rows.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
