"""story and cluster ids never reused

On SQLite ``stories.id`` and ``clusters.id`` were plain INTEGER PRIMARY KEYs,
which hand out max(id) + 1: once the newest row was deleted, the next one
stored got its id. For stories, /stories/N links and emails then named
another story, and repeating ``wirewatch stories delete N --yes`` deleted it.
Clusters are deleted in normal operation (merged away, or their last story
deleted), so ``/?cluster=N`` links, API results and CLI output named an
unrelated cluster. AUTOINCREMENT never goes back. SQLite cannot add it to a
table, so both tables are rebuilt (the documented 12-step ALTER, as alembic
batch copies) keeping every row, id, index and constraint. Dropping the old
``stories`` drops its search triggers; the triggers of each table are
recreated from their own saved text, so the search index stays valid and is
not rebuilt. Each sequence starts at the highest id the archive still names:
a cluster's first report may be a deleted story, and a story may name a
cluster that is gone if foreign keys were not enforced when it was deleted.

Foreign keys must not be enforced meanwhile, or dropping the old tables would
cascade-delete every match, delivery and band row of every story and unlink
every story from its cluster: the migration environment turns enforcement
off on SQLite, and this migration refuses to run where it is on.

PostgreSQL's sequences never hand out an id twice: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from core.errors import MigrationError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table, and the query for the highest id still stored or named elsewhere.
HIGHEST_KNOWN_ID = {
    "stories": (
        "SELECT max(coalesce((SELECT max(id) FROM stories), 0), "
        "coalesce((SELECT max(first_story_id) FROM clusters), 0))"
    ),
    "clusters": (
        "SELECT max(coalesce((SELECT max(id) FROM clusters), 0), "
        "coalesce((SELECT max(cluster_id) FROM stories), 0))"
    ),
}


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    _refuse_with_foreign_keys_enforced(conn)
    for table in HIGHEST_KNOWN_ID:
        _rebuild(conn, table, autoincrement=True)
    for table in HIGHEST_KNOWN_ID:
        _start_sequence_above_known_ids(conn, table)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    _refuse_with_foreign_keys_enforced(conn)
    for table in HIGHEST_KNOWN_ID:
        _rebuild(conn, table, autoincrement=False)


def _refuse_with_foreign_keys_enforced(conn: Connection) -> None:
    if conn.dialect.name == "sqlite" and conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise MigrationError(
            "refusing to rebuild the stories and clusters tables while SQLite enforces "
            "foreign keys: dropping the old tables would delete every story's matches, "
            "deliveries and band rows and unlink every story from its cluster; run "
            "migrations with `wirewatch init` or db.migrate.upgrade"
        )


def _rebuild(conn: Connection, table: str, *, autoincrement: bool) -> None:
    """Copy ``table`` into one with (or without) AUTOINCREMENT, triggers and all."""
    count = _row_count(conn, table)
    triggers = list(
        conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
            {"table": table},
        ).scalars()
    )
    with op.batch_alter_table(
        table,
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
        # SQLite reflects the primary key without its name; without AUTOINCREMENT
        # (which makes it a column constraint) it gets its name back.
        naming_convention={"pk": "pk_%(table_name)s"},
    ):
        pass
    for statement in triggers:
        conn.exec_driver_sql(statement)
    if (rebuilt := _row_count(conn, table)) != count:
        raise MigrationError(
            f"the rebuilt {table} table holds {rebuilt} rows, not {count}: "
            "the migration was rolled back"
        )


def _row_count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _start_sequence_above_known_ids(conn: Connection, table: str) -> None:
    """The next id is above every id of ``table`` still stored or still named elsewhere."""
    highest = conn.execute(text(HIGHEST_KNOWN_ID[table])).scalar_one()
    conn.execute(text("DELETE FROM sqlite_sequence WHERE name = :table"), {"table": table})
    if highest:
        conn.execute(
            text("INSERT INTO sqlite_sequence (name, seq) VALUES (:table, :seq)"),
            {"table": table, "seq": highest},
        )
