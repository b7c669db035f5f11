"""subscribers: the language of their digests and notices

``locale`` is the interface language of every email to the subscriber
("ru", "en"). Existing subscribers keep NULL, which means the
``default_locale`` setting: what they got before, until they choose.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("locale")
