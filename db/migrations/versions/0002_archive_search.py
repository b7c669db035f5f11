"""archive search

Full-text index of stories: an FTS5 table on SQLite, a tsvector column with a
GIN index on PostgreSQL, a queue filled by triggers on ``stories``, and the
stories already stored indexed now (the index holds the topic matcher's own
word keys, computed in Python, so the backfill runs the current analyser).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:10:00
"""

from collections.abc import Sequence

from alembic import op

from db.search import indexer, schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    schema.create(conn)
    indexer.rebuild(conn)


def downgrade() -> None:
    schema.drop(op.get_bind())
