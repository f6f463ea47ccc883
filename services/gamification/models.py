"""The gamification tables: players, their activity, the points ledger, seasons, the outbox."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.gamification.db import db
from shared.db import BigId, UTCDateTime

OVERALL = 0  # the season id of a player's all-time total in `totals`


class Player(db.Model):
    """A player, their streak state and their LeetCode sync state.

    The streak state is the run of consecutive active days ending at `last_active_date`
    (`run_length` days); the current streak follows from it and the day it is asked about.
    """

    __tablename__ = "players"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    leetcode_username: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    run_length: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    longest: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_active_date: Mapped[date | None] = mapped_column(Date)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last successful sync
    sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last sync, ok or not
    sync_ok: Mapped[bool | None] = mapped_column(Boolean)
    sync_error: Mapped[str | None] = mapped_column(String(500))
    sync_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # asked by the API
    sync_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # queued
    unknown_username: Mapped[str | None] = mapped_column(String(64))  # LeetCode has no such
    lost_notified_on: Mapped[date | None] = mapped_column(Date)  # run end told as lost
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_players_cohort", "cohort_id", "user_id"),
        # The sync's work list: players with a LeetCode username.
        Index("ix_players_leetcode", "user_id",
              postgresql_where=text("leetcode_username IS NOT NULL"),
              sqlite_where=text("leetcode_username IS NOT NULL")),
    )


class Submission(db.Model):
    """An accepted LeetCode submission, by its LeetCode id: a second sync stores nothing."""

    __tablename__ = "submissions"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    submission_id: Mapped[int] = mapped_column(BigInteger, primary_key=True,
                                               autoincrement=False)
    solved_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # unix seconds
    title_slug: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class CalendarDay(db.Model):
    """LeetCode's submission calendar: submissions on a UTC day (older history)."""

    __tablename__ = "calendar_days"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    utc_date: Mapped[date] = mapped_column(Date, primary_key=True)
    submissions: Mapped[int] = mapped_column(Integer, nullable=False)


class ActivityDay(db.Model):
    """An active day in the player's own time zone (derived; rebuilt on a zone change)."""

    __tablename__ = "activity_days"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    leetcode: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    platform: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class Award(db.Model):
    """The points ledger: one row per award, idempotent by `ref`.

    `season_id` is the season the award counted toward (null: total only); `cohort_id` the
    player's cohort when it arrived.
    """

    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    season_id: Mapped[int | None] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_awards_user_occurred", "user_id", "occurred_at"),
        Index("ix_awards_season_user", "season_id", "user_id"),
    )


class Total(db.Model):
    """A player's points in a season (season 0: all time), maintained with the ledger."""

    __tablename__ = "totals"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    season_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


# A board's page in rank order (points descending, then user_id): an index scan, no sort.
Index("ix_totals_board", Total.season_id, Total.cohort_id, Total.points.desc(), Total.user_id)


class Board(db.Model):
    """One leaderboard (a season in a cohort): its size, and a version every change bumps in
    the same transaction, so a copy elsewhere (Redis) can tell whether it is current."""

    __tablename__ = "boards"

    season_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=1)
    players: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class BoardScore(db.Model):
    """How many players of a board have exactly `points`: a rank is one plus the players
    of the buckets above, read from a few rows instead of counting every player above."""

    __tablename__ = "board_scores"

    season_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    players: Mapped[int] = mapped_column(Integer, nullable=False)


class Season(db.Model):
    """A season; its status follows the clock, `frozen` is set by update-seasons."""

    __tablename__ = "seasons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    cohort_id: Mapped[int | None] = mapped_column(BigInteger)  # null: every cohort
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    frozen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    __table_args__ = (Index("ix_seasons_starts", "starts_at"),)


class Standing(db.Model):
    """A frozen season's final standing of one player; never changes once written."""

    __tablename__ = "standings"

    season_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    cohort_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # 1.. in board order
    rank: Mapped[int] = mapped_column(Integer, nullable=False)
    tied: Mapped[int] = mapped_column(Integer, nullable=False)  # players of this rank
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (
        Index("ix_standings_board", "season_id", "cohort_id", "position", unique=True),
    )


class OutboxMessage(db.Model):
    """A notification to deliver, written in the transaction of the change it reports."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the POST body, JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_outbox_pending", "id", "next_attempt_at",
              postgresql_where=text("delivered_at IS NULL"),
              sqlite_where=text("delivered_at IS NULL")),
    )


class RateLimit(db.Model):
    """Shared state of an outbound rate limit when there is no Redis: the next free slot
    (unix seconds) and a breaker, the row locked for each reservation."""

    __tablename__ = "rate_limits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    blocked_reason: Mapped[str | None] = mapped_column(String(500))
