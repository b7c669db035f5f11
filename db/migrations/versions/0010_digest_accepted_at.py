"""digest accepted_at and provider_id

A digest whose sending process was killed became ``unknown``, and `digest
resend` then sent it a second time even when the mail server had taken it:
between the server's "accepted" (SMTP 250 with a queue id, SendGrid 202 with
an X-Message-Id) and the digest being settled there is a window (SMTP's QUIT
may wait for the server for as long as the timeout), and what the server said
was kept only once settled. The sender now records the acceptance at once, in
``accepted_at`` with the server's id in ``provider_id``; recovery and resend
read them (and SendGrid's event records) before anything goes out again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("provider_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("provider_id")
        batch.drop_column("accepted_at")
