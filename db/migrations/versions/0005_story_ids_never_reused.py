"""story ids never reused

On SQLite ``stories.id`` was a plain INTEGER PRIMARY KEY, which hands out
max(id) + 1: once the newest story was deleted, the next story stored got its
id, so /stories/N links and emails named another story, and repeating
``wirewatch stories delete N --yes`` deleted it. AUTOINCREMENT never goes
back. SQLite cannot add it to a table, so ``stories`` is rebuilt (the
documented 12-step ALTER, as an alembic batch copy) keeping every row, id,
index and constraint. Dropping the old table drops its search triggers; they
are recreated from their own saved text, so the search index stays valid and
is not rebuilt. The sequence starts at the highest id the archive still
names (a cluster's first report may be a deleted story).

Foreign keys must not be enforced meanwhile, or dropping the old table would
cascade-delete every match, delivery and band row of every story: the
migration environment turns enforcement off on SQLite, and this migration
refuses to run where it is on.

PostgreSQL's sequence never hands out an id twice: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 04:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

from wirewatch.errors import MigrationError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    _rebuild_stories(conn, autoincrement=True)
    _start_sequence_above_known_ids(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    _rebuild_stories(conn, autoincrement=False)


def _rebuild_stories(conn: Connection, *, autoincrement: bool) -> None:
    """Copy ``stories`` into a table with (or without) AUTOINCREMENT, triggers and all."""
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise MigrationError(
            "refusing to rebuild the stories table while SQLite enforces foreign keys: "
            "dropping the old table would delete every story's matches, deliveries and "
            "band rows; run migrations with `wirewatch init` or db.migrate.upgrade"
        )
    count = _story_count(conn)
    triggers = list(
        conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'stories'")
        ).scalars()
    )
    with op.batch_alter_table(
        "stories",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
        # SQLite reflects the primary key without its name; without AUTOINCREMENT
        # (which makes it a column constraint) it gets its name back.
        naming_convention={"pk": "pk_%(table_name)s"},
    ):
        pass
    for statement in triggers:
        conn.exec_driver_sql(statement)
    if _story_count(conn) != count:
        raise MigrationError(
            f"the rebuilt stories table holds {_story_count(conn)} rows, not {count}: "
            "the migration was rolled back"
        )


def _story_count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM stories")).scalar_one())


def _start_sequence_above_known_ids(conn: Connection) -> None:
    """The next id is above every story id still stored or still named by a cluster."""
    highest = conn.execute(
        text(
            "SELECT max(coalesce((SELECT max(id) FROM stories), 0), "
            "coalesce((SELECT max(first_story_id) FROM clusters), 0))"
        )
    ).scalar_one()
    conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'stories'"))
    if highest:
        conn.execute(
            text("INSERT INTO sqlite_sequence (name, seq) VALUES ('stories', :seq)"),
            {"seq": highest},
        )
