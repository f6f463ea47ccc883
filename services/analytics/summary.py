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


def mentor(mentor_id: int, now: datetime) -> tuple[dict, datetime | None]:
    """(answer, computed_at of the mentor's row); an unknown mentor has empty lists."""
    params = {"mentor": mentor_id}
    students = _rows(
        "SELECT m.student_id, coalesce(s.submissions, 0) AS submissions, "
        "coalesce(s.reviewed, 0) AS reviewed, coalesce(s.approved, 0) AS approved, "
        "coalesce(s.score_sum, 0) AS score_sum, s.last_submission_at AS last_at "
        "FROM analytics_mentorships m LEFT JOIN analytics_student_summaries s "
        "ON s.student_id = m.student_id WHERE m.mentor_id = :mentor AND m.status = 'assigned' "
        "ORDER BY m.student_id", params)
    figures = _rows("SELECT * FROM analytics_mentor_summaries WHERE mentor_id = :mentor", params)
    waiting = _rows("SELECT submission_id, student_id, submitted_at FROM analytics_mentor_queue "
                    "WHERE mentor_id = :mentor ORDER BY submitted_at, submission_id", params)
    row = figures[0] if figures else {}
    picked = []
    for rank in (50, 90):
        created, reviewed = row.get(f"p{rank}_created_at"), row.get(f"p{rank}_reviewed_at")
        picked.append(None if created is None else answers.hours(reviewed, created))
    answer = answers.mentor(
        mentor_id, [answers.mentor_student(r["student_id"], r) for r in students],
        [answers.queue_item(q["submission_id"], q["student_id"], q["submitted_at"], now)
         for q in waiting],
        {"p50": picked[0], "p90": picked[1]}, row.get("reviews_last_7_days", 0))
    return answer, as_time(row.get("computed_at"))


def latest_run() -> dict | None:
    """The newest finished recompute: {kind, finished_at, watermark, rows}."""
    rows = _rows("SELECT kind, finished_at, watermark, rows FROM analytics_runs "
                 "WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1", {})
    if not rows:
        return None
    return {**rows[0], "finished_at": isoformat_z(as_time(rows[0]["finished_at"]))}
