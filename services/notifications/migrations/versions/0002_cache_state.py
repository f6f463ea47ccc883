"""The notifications_cache_state row: lost cache invalidations, the last lease renewal.

See shared.coherent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notifications_cache_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("losses", sa.BigInteger(), nullable=False),
        sa.Column("checked_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notifications_cache_state"),
    )


def downgrade():
    op.drop_table("notifications_cache_state")
