"""Create the notifications table and the indexes of the count, the list and the purge.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_notifications_user_created", ["user_id", "created_at", "id"], None),
    ("ix_notifications_unread", ["user_id", "kind", "created_at", "id"], "read_at IS NULL"),
    ("ix_notifications_read_at", ["read_at"], "read_at IS NOT NULL"),
]


def upgrade():
    op.create_table(
        "notifications",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("dedupe_key", sa.String(200)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id_dedupe_key"),
    )
    # CONCURRENTLY cannot run in a transaction; it keeps writes flowing on a live table.
    with op.get_context().autocommit_block():
        for name, columns, where in INDEXES:
            op.create_index(
                name, "notifications", columns, postgresql_concurrently=True,
                postgresql_where=sa.text(where) if where else None,
                sqlite_where=sa.text(where) if where else None,
            )


def downgrade():
    with op.get_context().autocommit_block():
        for name, _, _ in INDEXES:
            op.drop_index(name, "notifications", postgresql_concurrently=True)
    op.drop_table("notifications")
