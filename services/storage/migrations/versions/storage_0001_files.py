"""Create the files table and the indexes of the list, the quota and the cleanup.

Revision ID: storage_0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "storage_0001"
down_revision = None
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_files_owner_created", ["owner_id", "created_at", "id"], None),
    ("ix_files_pending_expires", ["expires_at"], "status = 'pending'"),
]


def upgrade():
    op.create_table(
        "files",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("cohort_id", sa.BigInteger()),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("backend", sa.String(8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.UniqueConstraint("key", name="uq_files_key"),
    )
    # CONCURRENTLY cannot run in a transaction; it keeps writes flowing on a live table.
    with op.get_context().autocommit_block():
        for name, columns, where in INDEXES:
            op.create_index(
                name, "files", columns, postgresql_concurrently=True,
                postgresql_where=sa.text(where) if where else None,
                sqlite_where=sa.text(where) if where else None,
            )


def downgrade():
    with op.get_context().autocommit_block():
        for name, _, _ in INDEXES:
            op.drop_index(name, "files", postgresql_concurrently=True)
    op.drop_table("files")
