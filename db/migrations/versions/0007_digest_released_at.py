"""digest released_at

A digest whose stories were given back to the queue (the transport was away,
or an operator chose to send an unknown or failed digest again) must stop
holding its period, or the next run could not send that period at all. Until
now the release appended ``~<digest id>`` to the period key, so the unique key
(subscription_id, period_key) no longer matched: every reader had to know the
suffix, and a key near the 40-character limit lost it. The release is now a
column, ``released_at``.

Uniqueness: the unique constraint on (subscription_id, period_key) becomes a
partial unique index over the digests not released (``WHERE released_at IS
NULL``), which SQLite (3.8+) and PostgreSQL both enforce. So at most one live
digest holds a period, as before, while any number of released ones may keep
their true key beside it. Keeping a plain unique key that includes
``released_at`` would not do: NULLs are distinct in a unique key, so two live
digests of one period would both be accepted.

Data: each key holding a ``~`` loses the suffix and the digest gets
``released_at``. The moment of the release was not recorded; the digest's
creation is the closest known one (a deferred digest is released within its
run). A key the suffix did not fit behind (the key was cut back to 40
characters) carries no ``~``: that release never freed its period, and the
digest stays as it was. Period keys are at most about 30 characters, so this
does not happen in practice.

SQLite cannot drop a table's unique constraint in place, so ``digests`` is
rebuilt (alembic's batch copy) with foreign keys not enforced, or the copy
would cut every delivery's link to its digest (``ON DELETE SET NULL``): the
migration environment turns enforcement off, and this migration refuses to run
where it is on. Downgrading puts the suffix back on released digests.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.errors import MigrationError

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRELEASED_PERIOD = "uq_digests_unreleased_period"
UNRELEASED = sa.text("released_at IS NULL")
SUFFIX = "~"
KEY_LENGTH = 40

digests = sa.table(
    "digests",
    sa.column("id", sa.Integer()),
    sa.column("period_key", sa.String(length=KEY_LENGTH)),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("released_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    conn = op.get_bind()
    _refuse_with_foreign_keys_enforced(conn)
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_digests_subscription_id"), type_="unique")
    for digest_id, key in conn.execute(
        sa.select(digests.c.id, digests.c.period_key).where(
            digests.c.period_key.contains(SUFFIX, autoescape=True)
        )
    ):
        original = key.split(SUFFIX, 1)[0]
        if original:
            conn.execute(
                digests.update()
                .where(digests.c.id == digest_id)
                .values(period_key=original, released_at=digests.c.created_at)
            )
    op.create_index(
        UNRELEASED_PERIOD,
        "digests",
        ["subscription_id", "period_key"],
        unique=True,
        sqlite_where=UNRELEASED,
        postgresql_where=UNRELEASED,
    )


def downgrade() -> None:
    conn = op.get_bind()
    _refuse_with_foreign_keys_enforced(conn)
    op.drop_index(UNRELEASED_PERIOD, table_name="digests")
    for digest_id, key in conn.execute(
        sa.select(digests.c.id, digests.c.period_key).where(digests.c.released_at.is_not(None))
    ):
        conn.execute(
            digests.update()
            .where(digests.c.id == digest_id)
            .values(period_key=f"{key}{SUFFIX}{digest_id}"[:KEY_LENGTH])
        )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_column("released_at")
        batch_op.create_unique_constraint(
            batch_op.f("uq_digests_subscription_id"), ["subscription_id", "period_key"]
        )


def _refuse_with_foreign_keys_enforced(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite" and conn.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise MigrationError(
            "refusing to rebuild the digests table while SQLite enforces foreign keys: "
            "dropping the old table would unlink every delivery from its digest; run "
            "migrations with `wirewatch init` or db.migrate.upgrade"
        )
