"""The dashboards' figures as SQL, written once: the live queries and the recompute both use
these expressions, so the two paths count alike by construction.

Aliases: `s` a submission, `r` a review, `m` a membership or mentorship, `t` a row of
student totals. Time windows are bind parameters of a `Windows`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.analytics.sql import time_param

WEEKS, DAYS, BUCKETS = 12, 30, 10
QUEUE_LIMIT = 100
ENROLLED, ASSIGNED = "'enrolled'", "'assigned'"


@dataclass(frozen=True)
class Windows:
    """The time windows of dashboards answered as of `now`."""

    now: datetime

    @property
    def week_starts(self) -> list[datetime]:
        """Mondays 00:00 UTC: the last 12 ISO weeks, oldest first, and the next Monday."""
        today = _midnight(self.now)
        monday = today - timedelta(days=today.weekday())
        return [monday - timedelta(weeks=WEEKS - 1 - k) for k in range(WEEKS + 1)]

    @property
    def day_starts(self) -> list[datetime]:
        """Midnights UTC: the last 30 days, oldest first, and tomorrow."""
        today = _midnight(self.now)
        return [today - timedelta(days=DAYS - 1 - k) for k in range(DAYS + 1)]

    def params(self, conn) -> dict:
        values = {f"w{k}": t for k, t in enumerate(self.week_starts)}
        values |= {f"d{k}": t for k, t in enumerate(self.day_starts)}
        values |= {"now": self.now, "a7": self.now - timedelta(days=7),
                   "a30": self.now - timedelta(days=30)}
        return {k: time_param(conn, v) for k, v in values.items()}


def _midnight(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def week_label(start: datetime | date) -> str:
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def window_counts(column: str, prefix: str) -> list[str]:
    """Per window, oldest first: how many rows have `column` in it (prefix "w": the 12
    weeks, "d": the 30 days)."""
    count = WEEKS if prefix == "w" else DAYS
    return [f"count(*) FILTER (WHERE {column} >= :{prefix}{k} AND {column} < :{prefix}{k + 1})"
            for k in range(count)]


# Over submissions `s` (created ones): a student's all-time figures.
TOTALS = [
    "count(*) AS submissions",
    "count(s.latest_at) AS reviewed",
    "count(*) FILTER (WHERE s.latest_outcome = 'approved') AS approved",
    "coalesce(sum(s.latest_score), 0) AS score_sum",
    "max(s.created_at) AS last_at",
    "min(s.created_at) FILTER (WHERE s.latest_at IS NULL) AS oldest_pending",
]
TOTAL_NAMES = ["submissions", "reviewed", "approved", "score_sum", "last_at", "oldest_pending"]
# The score histogram: 0-9, 10-19, ..., 90-100.
HISTOGRAM = [f"count(*) FILTER (WHERE s.latest_score / 10 = {i}) AS h{i}"
             for i in range(BUCKETS - 1)] + [
    f"count(*) FILTER (WHERE s.latest_score >= {10 * (BUCKETS - 1)}) AS h{BUCKETS - 1}"]
HIST_NAMES = [f"h{i}" for i in range(BUCKETS)]
WEEK_SUBMISSIONS = [f"{c} AS ws{k}" for k, c in enumerate(window_counts("s.created_at", "w"))]
WEEK_REVIEWS = [f"{c} AS wr{k}" for k, c in enumerate(window_counts("r.reviewed_at", "w"))]
DAY_SUBMISSIONS = [f"{c} AS ds{k}" for k, c in enumerate(window_counts("s.created_at", "d"))]
DAY_REVIEWS = [f"{c} AS dr{k}" for k, c in enumerate(window_counts("r.reviewed_at", "d"))]


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{k}" for k in range(count)]


def student_totals(where: str, group: bool = True, weeks: bool = True) -> str:
    """Per student (or, ungrouped, for the one student `where` picks): totals, the
    histogram and (with `weeks`) the weekly submissions."""
    columns = ", ".join(TOTALS + HISTOGRAM + (WEEK_SUBMISSIONS if weeks else []))
    head = "s.student_id, " if group else ""
    tail = " GROUP BY s.student_id" if group else ""
    return (f"SELECT {head}{columns} FROM analytics_submissions s "
            f"WHERE s.created_at IS NOT NULL AND {where}{tail}")


def owned_reviews(since: str, students: str | None = None) -> str:
    """Reviews made since `since` with their owner (student_id), for grouping: the copied
    student where there is one, else a join to the submission (only those few rows).
    `students` ("IN :students") keeps the reviews of these students only."""
    mine = f" AND r.student_id {students}" if students else ""
    theirs = f" AND o.student_id {students}" if students else ""
    return (f"(SELECT r.student_id, r.mentor_id, r.reviewed_at FROM analytics_reviews r "
            f"WHERE r.reviewed_at >= {since} AND r.student_id IS NOT NULL{mine} UNION ALL "
            "SELECT o.student_id, r.mentor_id, r.reviewed_at FROM analytics_reviews r "
            "JOIN analytics_submissions o ON o.submission_id = r.submission_id "
            f"WHERE r.reviewed_at >= {since} AND r.student_id IS NULL "
            f"AND o.student_id IS NOT NULL{theirs})")


def reviews_of(test: str) -> str:
    """Reviews whose owner passes `test` ("= :student", "IN :students", "IN (SELECT ...)"),
    written so that indexes serve it."""
    return (f"(r.student_id {test} OR (r.student_id IS NULL AND r.submission_id IN "
            f"(SELECT o.submission_id FROM analytics_submissions o WHERE o.student_id {test})))")


# Over members `m` of a cohort and their totals `t`: the cohort's figures.
COHORT = [
    "count(m.student_id) AS students",
    "count(*) FILTER (WHERE t.last_at >= :a7) AS active",
    "coalesce(sum(t.submissions), 0) AS submissions",
    "coalesce(sum(t.reviewed), 0) AS reviewed",
    "coalesce(sum(t.approved), 0) AS approved",
    "coalesce(sum(t.score_sum), 0) AS score_sum",
    "min(t.oldest_pending) AS oldest_pending",
    *(f"coalesce(sum(t.h{i}), 0) AS h{i}" for i in range(BUCKETS)),
]
COHORT_NAMES = ["students", "active", "submissions", "reviewed", "approved", "score_sum",
                "oldest_pending", *HIST_NAMES]


def review_hours(where: str, duration: str, source: str = "analytics_submissions") -> str:
    """Per mentor: the submissions at the nearest-rank p50 (rank (n+1)/2) and p90 (rank
    (9n+9)/10) of creation-to-first-review time, over their first reviews of the last 30
    days; `duration` is sql.duration() of the two times. Rank and count share one window
    (the whole partition as frame, which row_number ignores): one pass over the sorted rows."""
    window = (f"OVER (PARTITION BY s.first_mentor_id ORDER BY {duration}, s.submission_id "
              "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")
    return (
        "SELECT mentor_id, created_at, first_reviewed_at, rn, n FROM ("
        "SELECT s.first_mentor_id AS mentor_id, s.created_at, s.first_reviewed_at, "
        f"row_number() {window} AS rn, count(*) {window} AS n "
        f"FROM {source} s WHERE s.first_reviewed_at >= :a30 "
        f"AND s.created_at IS NOT NULL AND {where}) q "
        "WHERE rn = (n + 1) / 2 OR rn = (9 * n + 9) / 10")


def queue(where: str, per_mentor: bool) -> str:
    """The unreviewed submissions of mentors' current students, oldest first."""
    order = "s.created_at, s.submission_id"
    rank = (f", row_number() OVER (PARTITION BY m.mentor_id ORDER BY {order}) AS rn"
            if per_mentor else "")
    body = (f"SELECT m.mentor_id, s.submission_id, s.student_id, s.created_at{rank} "
            "FROM analytics_mentorships m JOIN analytics_submissions s "
            f"ON s.student_id = m.student_id AND m.status = {ASSIGNED} "
            f"WHERE s.latest_at IS NULL AND s.created_at IS NOT NULL AND {where}")
    if per_mentor:
        return f"SELECT * FROM ({body}) q WHERE rn <= {QUEUE_LIMIT}"
    return f"{body} ORDER BY {order} LIMIT {QUEUE_LIMIT}"
