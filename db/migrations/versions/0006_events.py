"""events above clusters

Reports of one happening (across outlets, rewrites and languages) are grouped
into events, above the near-duplicate clusters: ``events``, the story's
``event_id`` and ``event_pinned`` (an operator's placement, never moved),
each story's event signature, an inverted index of signature keys by time for
finding candidate events, and document frequencies of those keys.

Existing stories keep ``event_id`` empty: they were sent and shown as
clusters, and placing them now would regroup what subscribers already saw.
New stories are placed as they are stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_story_id", sa.Integer(), nullable=True),
        sa.Column("lead_story_id", sa.Integer(), nullable=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("follows_event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_first_at", "events", ["first_at"])
    op.create_table(
        "event_signatures",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_event_signatures_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", name=op.f("pk_event_signatures")),
    )
    op.create_table(
        "event_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_event_keys_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_keys")),
    )
    op.create_index("ix_event_keys_key_at", "event_keys", ["key", "at"])
    op.create_index("ix_event_keys_story_id", "event_keys", ["story_id"])
    op.create_table(
        "term_frequencies",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_term_frequencies")),
    )
    # event_id is not a foreign key (see db.models.Story): on SQLite one would
    # mean rebuilding the stories table.
    op.add_column("stories", sa.Column("event_id", sa.Integer(), nullable=True))
    op.add_column(
        "stories",
        sa.Column("event_pinned", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_stories_event_id", "stories", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_stories_event_id", table_name="stories")
    with op.batch_alter_table("stories", recreate="never") as batch:
        batch.drop_column("event_pinned")
        batch.drop_column("event_id")
    op.drop_table("term_frequencies")
    op.drop_index("ix_event_keys_story_id", table_name="event_keys")
    op.drop_index("ix_event_keys_key_at", table_name="event_keys")
    op.drop_table("event_keys")
    op.drop_table("event_signatures")
    op.drop_index("ix_events_first_at", table_name="events")
    op.drop_table("events")
