"""Create the analytics facts, the summary tables, the run log and their indexes.

Revision ID: analytics_0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db import BigId, UTCDateTime

revision = "analytics_0001"
down_revision = None
branch_labels = None
depends_on = None

EventId = sa.String(64).with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")

TABLES = ("analytics_cohort_summaries", "analytics_events", "analytics_ingests",
          "analytics_memberships", "analytics_mentor_queue", "analytics_mentor_summaries",
          "analytics_mentorships", "analytics_reviews", "analytics_runs",
          "analytics_student_summaries", "analytics_submissions")

INDEXES = [
    ("ix_analytics_events_seq", "analytics_events", ["seq"], None),
    ("ix_analytics_memberships_cohort", "analytics_memberships", ["cohort_id", "status"], None),
    ("ix_analytics_mentorships_student", "analytics_mentorships", ["student_id"], None),
    ("ix_analytics_reviews_mentor", "analytics_reviews", ["mentor_id", "reviewed_at"], None),
    ("ix_analytics_reviews_student", "analytics_reviews", ["student_id", "reviewed_at"], None),
    ("ix_analytics_reviews_reviewed_brin", "analytics_reviews", ["reviewed_at"], None),
    ("ix_analytics_reviews_unowned", "analytics_reviews", ["submission_id"],
     "student_id IS NULL"),
    ("ix_analytics_submissions_created_brin", "analytics_submissions", ["created_at"], None),
    ("ix_analytics_submissions_first_brin", "analytics_submissions", ["first_reviewed_at"], None),
    ("ix_analytics_submissions_first_mentor", "analytics_submissions",
     ["first_mentor_id", "first_reviewed_at"], None),
    ("ix_analytics_submissions_student", "analytics_submissions",
     ["student_id", "created_at"], None),
    ("ix_analytics_submissions_pending", "analytics_submissions",
     ["student_id", "created_at"], "latest_at IS NULL"),
]


def upgrade():
    op.create_table(
        "analytics_cohort_summaries",
        sa.Column("cohort_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("active_last_7_days", sa.Integer(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("reviewed", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.BigInteger(), nullable=False),
        sa.Column("histogram", sa.Text(), nullable=False),
        sa.Column("oldest_pending_at", UTCDateTime()),
        sa.Column("daily", sa.Text(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('cohort_id', name="pk_analytics_cohort_summaries"),
    )
    op.create_table(
        "analytics_events",
        sa.Column("event_id", EventId, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("student_id", sa.BigInteger()),
        sa.Column("cohort_id", sa.BigInteger()),
        sa.Column("mentor_id", sa.BigInteger()),
        sa.Column("submission_id", sa.BigInteger()),
        sa.PrimaryKeyConstraint('event_id', name="pk_analytics_events"),
    )
    op.create_table(
        "analytics_ingests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name="pk_analytics_ingests"),
    )
    op.create_table(
        "analytics_memberships",
        sa.Column("student_id", sa.BigInteger(), primary_key=True),
        sa.Column("cohort_id", sa.BigInteger(), primary_key=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("event_id", EventId, nullable=False),
        sa.PrimaryKeyConstraint('student_id', 'cohort_id', name="pk_analytics_memberships"),
    )
    op.create_table(
        "analytics_mentor_queue",
        sa.Column("mentor_id", sa.BigInteger(), primary_key=True),
        sa.Column("submission_id", sa.BigInteger(), primary_key=True),
        sa.Column("student_id", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('mentor_id', 'submission_id', name="pk_analytics_mentor_queue"),
    )
    op.create_table(
        "analytics_mentor_summaries",
        sa.Column("mentor_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("p50_created_at", UTCDateTime()),
        sa.Column("p50_reviewed_at", UTCDateTime()),
        sa.Column("p90_created_at", UTCDateTime()),
        sa.Column("p90_reviewed_at", UTCDateTime()),
        sa.Column("reviews_last_7_days", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('mentor_id', name="pk_analytics_mentor_summaries"),
    )
    op.create_table(
        "analytics_mentorships",
        sa.Column("mentor_id", sa.BigInteger(), primary_key=True),
        sa.Column("student_id", sa.BigInteger(), primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("event_id", EventId, nullable=False),
        sa.PrimaryKeyConstraint('mentor_id', 'student_id', name="pk_analytics_mentorships"),
    )
    op.create_table(
        "analytics_reviews",
        sa.Column("event_id", EventId, primary_key=True),
        sa.Column("submission_id", sa.BigInteger(), nullable=False),
        sa.Column("student_id", sa.BigInteger()),
        sa.Column("mentor_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint('event_id', name="pk_analytics_reviews"),
    )
    op.create_table(
        "analytics_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("cohorts", sa.Integer(), nullable=False),
        sa.Column("students", sa.Integer(), nullable=False),
        sa.Column("mentors", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name="pk_analytics_runs"),
    )
    op.create_table(
        "analytics_student_summaries",
        sa.Column("student_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("cohort_id", sa.BigInteger()),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("reviewed", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.BigInteger(), nullable=False),
        sa.Column("last_submission_at", UTCDateTime()),
        sa.Column("weekly", sa.Text(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('student_id', name="pk_analytics_student_summaries"),
    )
    op.create_table(
        "analytics_submissions",
        sa.Column("submission_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("student_id", sa.BigInteger()),
        sa.Column("assignment_id", sa.BigInteger()),
        sa.Column("created_at", UTCDateTime()),
        sa.Column("created_event", EventId),
        sa.Column("latest_score", sa.Integer()),
        sa.Column("latest_outcome", sa.String(20)),
        sa.Column("latest_at", UTCDateTime()),
        sa.Column("latest_event", EventId),
        sa.Column("first_reviewed_at", UTCDateTime()),
        sa.Column("first_mentor_id", sa.BigInteger()),
        sa.Column("first_event", EventId),
        sa.PrimaryKeyConstraint('submission_id', name="pk_analytics_submissions"),
    )
    # CONCURRENTLY cannot run in a transaction; it keeps writes flowing on a live table.
    with op.get_context().autocommit_block():
        for name, table, columns, where in INDEXES:
            op.create_index(
                name, table, columns, postgresql_concurrently=True,
                postgresql_using="brin" if name.endswith("_brin") else None,
                postgresql_where=sa.text(where) if where else None,
                sqlite_where=sa.text(where) if where else None,
            )


def downgrade():
    with op.get_context().autocommit_block():
        for name, table, _, _ in INDEXES:
            op.drop_index(name, table, postgresql_concurrently=True)
    for table in TABLES:
        op.drop_table(table)
