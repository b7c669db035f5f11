"""sources' health: the failure's class, since when, paused, alerted, 304 counts

Every failing source used to show one undifferentiated error text, was
polled at its full rate however long it had been failing, and nobody was
told. A source now records the class of its last failure (``failure_kind``:
dns, connection, tls, timeout, http, robots, ...), when the current run of
failures began (``failing_since``), when it was paused for failing too long
(``paused_at``; a paused source is re-probed daily) and when the operator was
told about the current incident (``alerted_at``, so once per incident);
``fetch_count`` and ``not_modified_count`` give the share of polls answered
304. A crawl run counts its failed sources apart from failed stories
(``sources_failed``): a run in which every source failed is ``failed``.

Provenance: a story records the kind of the source that found it first
(``found_kind``; ``source_id`` already names the source) and how long after
its published time it was found (``found_delay_seconds``; unset when the
published time is unknown or estimated).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("failure_kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("fetch_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("not_modified_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(
            sa.Column("sources_failed", sa.Integer(), nullable=False, server_default="0")
        )
    # Plain ALTER TABLE (SQLite >= 3.35 adds and drops columns in place): a batch
    # copy of ``stories`` would lose its search triggers.
    op.add_column("stories", sa.Column("found_kind", sa.String(length=16), nullable=True))
    op.add_column("stories", sa.Column("found_delay_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("stories", "found_delay_seconds")
    op.drop_column("stories", "found_kind")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("sources_failed")
    with op.batch_alter_table("sources") as batch:
        for column in (
            "not_modified_count",
            "fetch_count",
            "alerted_at",
            "paused_at",
            "failing_since",
            "failure_kind",
        ):
            batch.drop_column(column)
