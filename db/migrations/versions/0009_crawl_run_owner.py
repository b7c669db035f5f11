"""crawl run owner and heartbeat

A crawl run is settled by the process that started it (the CLI, the web app,
the scheduler, or a bare ``scrapy crawl``). When that process is killed the
run stayed ``running`` for ever, holding back instant digests, and only a
running scheduler noticed. The run now records its owner, ``host`` and
``pid`` (the column existed, and held a crawler child's pid) with the
process's start time ``pid_started`` so a reused pid is not taken for the
owner, and ``heartbeat_at``, which the owner refreshes while the crawl runs,
for readers on another host. Every reader can then tell a dead run.

Existing rows keep their values; a row still ``running`` from before has no
heartbeat and is judged by its start time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid_started", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid_started")
        batch.drop_column("host")
