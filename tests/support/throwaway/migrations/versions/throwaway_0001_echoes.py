"""Create the echoes table.

Revision ID: throwaway_0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId

revision = "throwaway_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "echoes",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("text", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_echoes"),
    )


def downgrade():
    op.drop_table("echoes")
