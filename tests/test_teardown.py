"""Skipping the exit-time collections leaves the database as a normal exit does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import close_idle_connections, make_engine

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import atexit, gc, sys
from sqlalchemy import text
from core.teardown import skip_teardown_collection
from db.session import make_engine

# Exit handlers run last registered first: this one runs after the teardown's.
atexit.register(lambda: print("frozen", gc.get_freeze_count() > 0))
skip_teardown_collection()
engine = make_engine(sys.argv[1])
with engine.begin() as connection:
    connection.execute(text("create table if not exists t (x integer)"))
    connection.execute(text("insert into t values (1)"))
held = engine.connect() if sys.argv[2] == "held" else None
if held is not None:
    held.execute(text("select count(*) from t")).scalar()
"""


@pytest.mark.parametrize("connection", ["closed", "held"])
def test_sqlite_is_checkpointed_at_exit(tmp_path: Path, connection: str) -> None:
    """The WAL is folded into the database file and removed, as after a normal exit."""
    database = tmp_path / "t.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, f"sqlite:///{database}", connection],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # With a connection still checked out nothing is frozen: the usual teardown closes it.
    assert result.stdout.split() == ["frozen", str(connection == "closed")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db"]
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as check:
            assert check.execute(text("select count(*) from t")).scalar() == 1
    finally:
        engine.dispose()


def test_close_idle_connections_refuses_while_one_is_checked_out(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        with engine.connect() as held:
            held.execute(text("select 1"))
            assert close_idle_connections() is False
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        engine.dispose()
