"""Players, activity, the points ledger, totals and boards, seasons, standings, the outbox.

Revision ID: gamification_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "gamification_0001"
down_revision = None
branch_labels = None
depends_on = None

BIG = sa.BigInteger()


def key(*names):
    return [sa.Column(n, BIG, nullable=False, autoincrement=False) for n in names]


# (name, table, columns, partial condition, unique)
INDEXES = [
    ("ix_players_cohort", "players", ["cohort_id", "user_id"], None, False),
    ("ix_players_leetcode", "players", ["user_id"], "leetcode_username IS NOT NULL", False),
    ("ix_awards_user_occurred", "awards", ["user_id", "occurred_at"], None, False),
    ("ix_awards_season_user", "awards", ["season_id", "user_id"], None, False),
    ("ix_totals_board", "totals", ["season_id", "cohort_id", sa.text("points DESC"), "user_id"],
     None, False),
    ("ix_seasons_starts", "seasons", ["starts_at"], None, False),
    ("ix_standings_board", "standings", ["season_id", "cohort_id", "position"], None, True),
    ("ix_outbox_pending", "outbox", ["id", "next_attempt_at"], "delivered_at IS NULL", False),
]


def upgrade():
    op.create_table(
        "players",
        *key("user_id", "cohort_id"),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("leetcode_username", sa.String(64)),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("run_length", sa.Integer(), nullable=False),
        sa.Column("longest", sa.Integer(), nullable=False),
        sa.Column("last_active_date", sa.Date()),
        sa.Column("synced_at", UTCDateTime()),
        sa.Column("sync_at", UTCDateTime()),
        sa.Column("sync_ok", sa.Boolean()),
        sa.Column("sync_error", sa.String(500)),
        sa.Column("sync_attempt_at", UTCDateTime()),
        sa.Column("sync_requested_at", UTCDateTime()),
        sa.Column("unknown_username", sa.String(64)),
        sa.Column("lost_notified_on", sa.Date()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_players"),
    )
    op.create_table(
        "submissions",
        *key("user_id", "submission_id", "solved_at"),
        sa.Column("title_slug", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "submission_id", name="pk_submissions"),
    )
    op.create_table(
        "calendar_days",
        *key("user_id"),
        sa.Column("utc_date", sa.Date(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "utc_date", name="pk_calendar_days"),
    )
    op.create_table(
        "activity_days",
        *key("user_id"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("leetcode", sa.Integer(), nullable=False),
        sa.Column("platform", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "day", name="pk_activity_days"),
    )
    op.create_table(
        "awards",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(128), nullable=False),
        *key("user_id", "cohort_id"),
        sa.Column("season_id", BIG),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_awards"),
        sa.UniqueConstraint("ref", name="uq_awards_ref"),
    )
    op.create_table(
        "totals",
        *key("user_id", "season_id", "cohort_id", "points"),
        sa.PrimaryKeyConstraint("user_id", "season_id", name="pk_totals"),
    )
    op.create_table(
        "boards",
        *key("season_id", "cohort_id", "version"),
        sa.Column("players", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("season_id", "cohort_id", name="pk_boards"),
    )
    op.create_table(
        "board_scores",
        *key("season_id", "cohort_id", "points"),
        sa.Column("players", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("season_id", "cohort_id", "points", name="pk_board_scores"),
    )
    op.create_table(
        "seasons",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("cohort_id", BIG),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("frozen_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_seasons"),
    )
    op.create_table(
        "standings",
        *key("season_id", "user_id", "cohort_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("tied", sa.Integer(), nullable=False),
        sa.Column("points", BIG, nullable=False),
        sa.PrimaryKeyConstraint("season_id", "user_id", name="pk_standings"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.Column("blocked_until", UTCDateTime()),
        sa.Column("blocked_reason", sa.String(500)),
        sa.PrimaryKeyConstraint("name", name="pk_rate_limits"),
    )
    # CONCURRENTLY cannot run in a transaction; it keeps writes flowing on a live table.
    with op.get_context().autocommit_block():
        for name, table, columns, where, unique in INDEXES:
            op.create_index(
                name, table, columns, unique=unique, postgresql_concurrently=True,
                postgresql_where=sa.text(where) if where else None,
                sqlite_where=sa.text(where) if where else None,
            )


def downgrade():
    with op.get_context().autocommit_block():
        for name, table, _, _, _ in INDEXES:
            op.drop_index(name, table, postgresql_concurrently=True)
    for table in ("rate_limits", "outbox", "standings", "seasons", "board_scores", "boards",
                  "totals", "awards", "activity_days", "calendar_days", "submissions",
                  "players"):
        op.drop_table(table)
