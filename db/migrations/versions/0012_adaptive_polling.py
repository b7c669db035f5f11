"""sources: next poll time, adaptive interval, section link rules

Sources were due a fixed ``interval_minutes`` after their last crawl. They are
now due at ``next_poll_at``, which each fetch sets from the source's observed
publishing rate and what its server asked for (RSS ttl, sy:updatePeriod,
Cache-Control max-age, Retry-After), within the configured bounds; the
interval chosen is kept in ``poll_minutes`` for the sources page.
``link_rules`` holds a section source's own CSS/XPath rules for its article
links (None: the default heuristics).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("poll_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("link_rules", sa.JSON(), nullable=True))
        batch.create_index("ix_sources_next_poll_at", ["next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_index("ix_sources_next_poll_at")
        batch.drop_column("link_rules")
        batch.drop_column("poll_minutes")
        batch.drop_column("next_poll_at")
