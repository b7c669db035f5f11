"""event keys: the candidate lookup reads the index alone

Placing a story counts, for each story in the window, how many of its keys
it shares (``db.events.candidate_event_starts``). The index on (key, at) found the
postings but not their story, so every posting cost a read of its table row:
with a few thousand stories in the window, most of a placement's time. With
``story_id`` in the index the count is read from the index alone (measured
on 5,000 stories: 127 ms → 35 ms per lookup on SQLite).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 11:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_keys_key_at_story", "event_keys", ["key", "at", "story_id"])
    op.drop_index("ix_event_keys_key_at", table_name="event_keys")


def downgrade() -> None:
    op.create_index("ix_event_keys_key_at", "event_keys", ["key", "at"])
    op.drop_index("ix_event_keys_key_at_story", table_name="event_keys")
