"""Dashboards read from the summary tables: one query for a student or a cohort, three for a
mentor. Each answer is as of its rows' computed_at; waiting times count to `now`."""

import json
from datetime import datetime

from sqlalchemy import text

from services.analytics import answers
from services.analytics.db import db
from services.analytics.figures import DAYS, WEEKS
from services.analytics.live import KNOWN_STUDENT, MENTORED
from services.analytics.sql import as_time
from shared.db import isoformat_z


def _rows(statement: str, params: dict) -> list:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.execute(text(statement), params).mappings().all()


def student(student_id: int, caller: int, now: datetime) -> tuple[dict, dict, datetime | None]:
    """(answer, {known, mentored}, computed_at) from the student's summary row."""
    (row,) = _rows(
        f"SELECT {MENTORED} AS mentored, {KNOWN_STUDENT} AS known, s.* FROM (SELECT 1 AS one) o "
        "LEFT JOIN analytics_student_summaries s ON s.student_id = :student",
        {"student": student_id, "caller": caller})
    computed = as_time(row["computed_at"])
    if computed is None:  # not recomputed yet: nothing counted
        row = {**row, "submissions": 0, "reviewed": 0, "approved": 0, "score_sum": 0,
               "weekly": json.dumps([0] * 2 * WEEKS)}
    weekly = json.loads(row["weekly"])
    weeks = answers.weekly(weekly[:WEEKS], weekly[WEEKS:], computed or now, now)
    answer = answers.student(student_id, row["cohort_id"], row, weeks)
    return answer, {"known": bool(row["known"]) or row["submissions"] > 0,
                    "mentored": bool(row["mentored"])}, computed


def cohort(cohort_id: int, now: datetime) -> tuple[dict | None, datetime | None]:
    """(answer, computed_at); None when the cohort has no summary row."""
    rows = _rows("SELECT * FROM analytics_cohort_summaries WHERE cohort_id = :cohort",
                 {"cohort": cohort_id})
    if not rows:
        return None, None
    row = rows[0]
    computed = as_time(row["computed_at"])
    daily = json.loads(row["daily"])
    days = answers.daily(daily[:DAYS], daily[DAYS:], computed, now)
    figures = {**row, "active": row["active_last_7_days"],
               "oldest_pending": row["oldest_pending_at"]}
    return answers.cohort(cohort_id, figures, json.loads(row["histogram"]), days, now), computed


# The mentor's three parts in one round trip: rows of `part` 0 are their students, 1 the
# queue, 2 their figures (at most one row).
MENTOR = (
    "SELECT 0 AS part, m.student_id AS a, coalesce(s.submissions, 0) AS b, "
    "coalesce(s.reviewed, 0) AS c, coalesce(s.approved, 0) AS d, coalesce(s.score_sum, 0) AS e, "
    "s.last_submission_at AS t1, CAST(NULL AS timestamptz) AS t2, "
    "CAST(NULL AS timestamptz) AS t3, CAST(NULL AS timestamptz) AS t4, "
    "CAST(NULL AS timestamptz) AS t5 "
    "FROM analytics_mentorships m LEFT JOIN analytics_student_summaries s "
    "ON s.student_id = m.student_id WHERE m.mentor_id = :mentor AND m.status = 'assigned' "
    "UNION ALL SELECT 1, q.submission_id, q.student_id, NULL, NULL, NULL, q.submitted_at, "
    "NULL, NULL, NULL, NULL FROM analytics_mentor_queue q WHERE q.mentor_id = :mentor "
    "UNION ALL SELECT 2, f.reviews_last_7_days, NULL, NULL, NULL, NULL, f.p50_created_at, "
    "f.p50_reviewed_at, f.p90_created_at, f.p90_reviewed_at, f.computed_at "
    "FROM analytics_mentor_summaries f WHERE f.mentor_id = :mentor")


def mentor(mentor_id: int, now: datetime) -> tuple[dict, datetime | None]:
    """(answer, computed_at of the mentor's row); an unknown mentor has empty lists."""
    parts: dict[int, list] = {0: [], 1: [], 2: []}
    for row in _rows(MENTOR, {"mentor": mentor_id}):
        parts[row["part"]].append(row)
    students = sorted(parts[0], key=lambda r: r["a"])
    waiting = sorted(parts[1], key=lambda r: (as_time(r["t1"]), r["a"]))
    figures = parts[2][0] if parts[2] else None
    review_hours = {"p50": None, "p90": None}
    if figures is not None:
        for rank, created, reviewed in ((50, "t1", "t2"), (90, "t3", "t4")):
            if figures[created] is not None:
                review_hours[f"p{rank}"] = answers.hours(figures[reviewed], figures[created])
    answer = answers.mentor(
        mentor_id,
        [answers.mentor_student(r["a"], {"submissions": r["b"], "reviewed": r["c"],
                                         "approved": r["d"], "score_sum": r["e"],
                                         "last_at": r["t1"]}) for r in students],
        [answers.queue_item(q["a"], q["b"], q["t1"], now) for q in waiting],
        review_hours, figures["a"] if figures else 0)
    return answer, as_time(figures["t5"]) if figures else None


def latest_run() -> dict | None:
    """The newest finished recompute: {kind, finished_at, watermark, rows}."""
    rows = _rows("SELECT kind, finished_at, watermark, rows FROM analytics_runs "
                 "WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1", {})
    if not rows:
        return None
    return {**rows[0], "finished_at": isoformat_z(as_time(rows[0]["finished_at"]))}
