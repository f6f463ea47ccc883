"""Facts (from events) and the summary tables computed from them.

Facts are keyed by their natural keys and carry the (occurred_at, event id) of the event that
last described them, so an upsert keeps whichever is latest whatever the arrival order.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from services.analytics.db import db
from shared.db import BigId, UTCDateTime

# Event ids break ties between events of one instant: compared bytewise on every backend
# ("C" on PostgreSQL, SQLite's BINARY), as Python compares them when it reduces a batch.
EventId = String(64).with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")


class Ingest(db.Model):
    """One accepted batch; its id orders ingestion (the recompute's watermark)."""

    __tablename__ = "analytics_ingests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    events: Mapped[int] = mapped_column(Integer, nullable=False)


class Event(db.Model):
    """Every event id seen (idempotence), the batch it came in, and whom it is about."""

    __tablename__ = "analytics_events"

    event_id: Mapped[str] = mapped_column(EventId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    cohort_id: Mapped[int | None] = mapped_column(BigInteger)
    mentor_id: Mapped[int | None] = mapped_column(BigInteger)
    submission_id: Mapped[int | None] = mapped_column(BigInteger)

    # The incremental recompute reads what arrived after its watermark.
    __table_args__ = (Index("ix_analytics_events_seq", "seq"),)


class Membership(db.Model):
    """A student in a cohort: enrolled or left, as its latest roster event says."""

    __tablename__ = "analytics_memberships"

    student_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    event_id: Mapped[str] = mapped_column(EventId, nullable=False)

    __table_args__ = (Index("ix_analytics_memberships_cohort", "cohort_id", "status"),)


class Mentorship(db.Model):
    """A mentor and a student: assigned or unassigned, as its latest event says."""

    __tablename__ = "analytics_mentorships"

    mentor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    student_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    event_id: Mapped[str] = mapped_column(EventId, nullable=False)

    __table_args__ = (Index("ix_analytics_mentorships_student", "student_id"),)


class Submission(db.Model):
    """A submission with its creation, its latest review and its first review.

    A review that arrives first makes the row with no creation (student unknown); the
    creation fills it in when it comes.
    """

    __tablename__ = "analytics_submissions"

    submission_id: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                               autoincrement=False)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_event: Mapped[str | None] = mapped_column(EventId)
    latest_score: Mapped[int | None] = mapped_column(Integer)
    latest_outcome: Mapped[str | None] = mapped_column(String(20))
    latest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_event: Mapped[str | None] = mapped_column(EventId)
    first_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_mentor_id: Mapped[int | None] = mapped_column(BigInteger)
    first_event: Mapped[str | None] = mapped_column(EventId)

    __table_args__ = (
        # A student's figures and weeks.
        Index("ix_analytics_submissions_student", "student_id", "created_at"),
        # Review queues: only unreviewed rows.
        Index("ix_analytics_submissions_pending", "student_id", "created_at",
              postgresql_where=text("latest_at IS NULL"), sqlite_where=text("latest_at IS NULL")),
        # A mentor's review hours (first reviews of the last 30 days).
        Index("ix_analytics_submissions_first_mentor", "first_mentor_id", "first_reviewed_at"),
        # The recompute's recent windows: rows arrive roughly in time order, so a BRIN index
        # (a few pages, almost free to maintain) lets it read only the recent part.
        Index("ix_analytics_submissions_created_brin", "created_at", postgresql_using="brin"),
        Index("ix_analytics_submissions_first_brin", "first_reviewed_at",
              postgresql_using="brin"),
    )


class Review(db.Model):
    """Every review made (re-reviews too): the weekly and daily counts read these.

    `student_id` is the submission's student, copied when the review is stored if the
    submission is known by then (a submission never changes student); null for a review
    that came first, which readers resolve through the submission.
    """

    __tablename__ = "analytics_reviews"

    event_id: Mapped[str] = mapped_column(EventId, primary_key=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    mentor_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)

    __table_args__ = (
        Index("ix_analytics_reviews_mentor", "mentor_id", "reviewed_at"),
        # A student's reviews by week, without a join through the submissions.
        Index("ix_analytics_reviews_student", "student_id", "reviewed_at"),
        Index("ix_analytics_reviews_reviewed_brin", "reviewed_at", postgresql_using="brin"),
        # The few reviews stored before their submission, resolved through it.
        Index("ix_analytics_reviews_unowned", "submission_id",
              postgresql_where=text("student_id IS NULL"), sqlite_where=text("student_id IS NULL")),
    )


class StudentSummary(db.Model):
    """A student's dashboard figures as of `computed_at`; `weekly` is JSON: 12 pairs
    (submissions, reviews) flat, oldest first, the last one the week of computed_at."""

    __tablename__ = "analytics_student_summaries"

    student_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int | None] = mapped_column(BigInteger)
    submissions: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewed: Mapped[int] = mapped_column(Integer, nullable=False)
    approved: Mapped[int] = mapped_column(Integer, nullable=False)
    score_sum: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_submission_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    weekly: Mapped[str] = mapped_column(Text, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CohortSummary(db.Model):
    """A cohort's dashboard figures as of `computed_at`; `histogram` is JSON (10 counts),
    `daily` JSON: 30 pairs (submissions, reviews) flat, the last the day of computed_at."""

    __tablename__ = "analytics_cohort_summaries"

    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    students: Mapped[int] = mapped_column(Integer, nullable=False)
    active_last_7_days: Mapped[int] = mapped_column(Integer, nullable=False)
    submissions: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewed: Mapped[int] = mapped_column(Integer, nullable=False)
    approved: Mapped[int] = mapped_column(Integer, nullable=False)
    score_sum: Mapped[int] = mapped_column(BigInteger, nullable=False)
    histogram: Mapped[str] = mapped_column(Text, nullable=False)
    oldest_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    daily: Mapped[str] = mapped_column(Text, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class MentorSummary(db.Model):
    """A mentor's review figures as of `computed_at`: the submissions at the p50 and p90 of
    review time (their creation and first review), and reviews of the last 7 days."""

    __tablename__ = "analytics_mentor_summaries"

    mentor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    p50_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    p50_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    p90_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    p90_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviews_last_7_days: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class MentorQueue(db.Model):
    """The oldest unreviewed submissions of a mentor's students (at most 100 a mentor)."""

    __tablename__ = "analytics_mentor_queue"

    mentor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    student_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class RecomputeRun(db.Model):
    """One recompute: when, what it covered, the rows it wrote, the ingest watermark."""

    __tablename__ = "analytics_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    watermark: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cohorts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    students: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mentors: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


