"""readers' feedback and per-topic relevance models

Readers judge stories "relevant" or "not relevant" per topic (from a signed
link in a digest, or in the web app): ``topic_feedback`` keeps one judgment
per (topic, story, who), a later one replacing it. The judgments train the
topic's relevance model (alerts.relevance), which ``topics.model_enabled``
switches on or off; a match the model added, not the query, says so in
``topic_matches.via``.

Existing matches were all made by queries: ``via`` defaults to "query".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-14 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "topic_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("who", sa.String(length=100), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("judged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_topic_feedback_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_topic_feedback_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_topic_feedback_subscriber_id_subscribers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_feedback")),
        sa.UniqueConstraint("topic_id", "story_id", "who", name=op.f("uq_topic_feedback_topic_id")),
    )
    op.create_index("ix_topic_feedback_topic_judged", "topic_feedback", ["topic_id", "judged_at"])
    op.add_column(
        "topics",
        sa.Column("model_enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "topic_matches",
        sa.Column("via", sa.String(length=16), nullable=False, server_default="query"),
    )


def downgrade() -> None:
    with op.batch_alter_table("topic_matches", recreate="never") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("topics", recreate="never") as batch:
        batch.drop_column("model_enabled")
    op.drop_index("ix_topic_feedback_topic_judged", table_name="topic_feedback")
    op.drop_table("topic_feedback")
