"""clustered band index

The near-duplicate band table was a rowid table with two B-trees beside it
(primary key by story, index by band hash), and a lookup had to visit the
table for each hit to learn the story. It becomes one B-tree ordered by
(band, hash, story_id) (SQLite ``WITHOUT ROWID``; on PostgreSQL the primary
key covers the lookup), plus a small index by story for deletes and
re-indexing. At 1,000,000 stories this halves the pages a story's 32 band
inserts touch and makes the candidate lookup index-only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPY = "lsh_bands_migrating"


def _stash() -> None:
    op.execute(f"CREATE TABLE {_COPY} AS SELECT story_id, band, hash FROM lsh_bands")
    op.drop_table("lsh_bands")


def _restore(order: str) -> None:
    op.execute(
        f"INSERT INTO lsh_bands (story_id, band, hash) "
        f"SELECT story_id, band, hash FROM {_COPY} ORDER BY {order}"
    )
    op.drop_table(_COPY)


def _create(primary_key: tuple[str, ...], index: str, *, clustered: bool) -> None:
    """lsh_bands with the given key; ``clustered`` drops SQLite's rowid (no-op elsewhere)."""
    op.create_table(
        "lsh_bands",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_lsh_bands_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*primary_key, name=op.f("pk_lsh_bands")),
        sqlite_with_rowid=not clustered,
    )
    columns = [name.strip() for name in index.split(",")]
    op.create_index(f"ix_lsh_bands_{'_'.join(columns)}", "lsh_bands", columns, unique=False)


def upgrade() -> None:
    _stash()
    _create(("band", "hash", "story_id"), "story_id", clustered=True)
    _restore("band, hash, story_id")


def downgrade() -> None:
    _stash()
    _create(("story_id", "band"), "band, hash", clustered=False)
    _restore("story_id, band")
