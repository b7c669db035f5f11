"""stories waiting for topic matching: a partial index

The scheduler now asks every few seconds whether any story waits to be
matched (so a crawl's news reaches instant subscribers without waiting for
the digest job's next tick). Without an index that question reads the whole
stories table whenever the answer is no; a partial index on the unmatched
rows keeps it (and the matcher's own ``ORDER BY id`` read) small.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_stories_unmatched",
        "stories",
        ["id"],
        sqlite_where=sa.text("matched_at IS NULL"),
        postgresql_where=sa.text("matched_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_stories_unmatched", table_name="stories")
