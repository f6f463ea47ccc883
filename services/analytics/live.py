"""Dashboards computed from the facts at request time: a fixed number of queries each
(student 1, cohort 1, mentor 3), however many students or submissions there are."""

from datetime import datetime

from sqlalchemy import text

from services.analytics import answers
from services.analytics.db import db
from services.analytics.figures import (
    COHORT,
    DAY_REVIEWS,
    DAY_SUBMISSIONS,
    DAYS,
    ENROLLED,
    HIST_NAMES,
    WEEK_REVIEWS,
    WEEKS,
    Windows,
    names,
    queue,
    review_hours,
    reviews_of,
    student_totals,
)
from services.analytics.sql import duration

CURRENT_COHORT = (f"(SELECT cohort_id FROM analytics_memberships WHERE student_id = :student "
                  f"AND status = {ENROLLED} ORDER BY occurred_at DESC, event_id DESC LIMIT 1)")
MENTORED = ("EXISTS (SELECT 1 FROM analytics_mentorships WHERE mentor_id = :caller "
            "AND student_id = :student AND status = 'assigned')")
KNOWN_STUDENT = ("(EXISTS (SELECT 1 FROM analytics_memberships WHERE student_id = :student) OR "
                 "EXISTS (SELECT 1 FROM analytics_mentorships WHERE student_id = :student))")


def _one(statement: str, params: dict, windows: Windows):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.execute(text(statement), params | windows.params(conn)).mappings().first()


def _all(conn, statement: str, params: dict, windows: Windows) -> list:
    return conn.execute(text(statement), params | windows.params(conn)).mappings().all()


def student(student_id: int, caller: int, now: datetime) -> tuple[dict, dict]:
    """The student's dashboard and what the caller may know: (answer, {known, mentored})."""
    windows = Windows(now)
    row = _one(
        f"SELECT {CURRENT_COHORT} AS cohort_id, {MENTORED} AS mentored, "
        f"{KNOWN_STUDENT} AS known, t.*, u.* "
        f"FROM ({student_totals('s.student_id = :student', group=False)}) t "
        f"CROSS JOIN (SELECT {', '.join(WEEK_REVIEWS)} FROM analytics_reviews r "
        f"WHERE r.reviewed_at >= :w0 AND {reviews_of('= :student')}) u",
        {"student": student_id, "caller": caller}, windows)
    weeks = answers.weekly([row[n] for n in names("ws", WEEKS)],
                           [row[n] for n in names("wr", WEEKS)], now, now)
    answer = answers.student(student_id, row["cohort_id"], row, weeks)
    return answer, {"known": bool(row["known"]) or row["submissions"] > 0,
                    "mentored": bool(row["mentored"])}


def cohort(cohort_id: int, now: datetime) -> dict | None:
    """The cohort's dashboard; None when no roster event ever named it."""
    windows = Windows(now)
    members = (f"s.student_id IN (SELECT student_id FROM analytics_memberships "
               f"WHERE cohort_id = :cohort AND status = {ENROLLED})")
    current = (f"IN (SELECT student_id FROM analytics_memberships "
               f"WHERE cohort_id = :cohort AND status = {ENROLLED})")
    days_submissions = (f"SELECT {', '.join(DAY_SUBMISSIONS)} FROM analytics_submissions s "
                        f"WHERE s.created_at >= :d0 AND s.student_id {current}")
    days_reviews = (f"SELECT {', '.join(DAY_REVIEWS)} FROM analytics_reviews r "
                    f"WHERE r.reviewed_at >= :d0 AND {reviews_of(current)}")
    row = _one(
        "SELECT EXISTS (SELECT 1 FROM analytics_memberships WHERE cohort_id = :cohort) AS known, "
        f"c.*, ds.*, dr.* FROM (SELECT {', '.join(COHORT)} FROM analytics_memberships m "
        f"LEFT JOIN ({student_totals(members)}) t ON t.student_id = m.student_id "
        f"WHERE m.cohort_id = :cohort AND m.status = {ENROLLED}) c "
        f"CROSS JOIN ({days_submissions}) ds CROSS JOIN ({days_reviews}) dr",
        {"cohort": cohort_id}, windows)
    if not row["known"]:
        return None
    days = answers.daily([row[n] for n in names("ds", DAYS)], [row[n] for n in names("dr", DAYS)],
                         now, now)
    return answers.cohort(cohort_id, row, [row[n] for n in HIST_NAMES], days, now)


def mentor(mentor_id: int, now: datetime) -> dict:
    """The mentor's dashboard: every assigned student, the queue, review figures."""
    windows = Windows(now)
    mine = ("s.student_id IN (SELECT student_id FROM analytics_mentorships "
            "WHERE mentor_id = :mentor AND status = 'assigned')")
    params = {"mentor": mentor_id}
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        students = _all(conn, (
            "SELECT m.student_id, t.submissions, t.reviewed, t.approved, t.score_sum, t.last_at "
            "FROM analytics_mentorships m "
            f"LEFT JOIN ({student_totals(mine)}) t ON t.student_id = m.student_id "
            "WHERE m.mentor_id = :mentor AND m.status = 'assigned' ORDER BY m.student_id"),
            params, windows)
        waiting = _all(conn, queue("m.mentor_id = :mentor", per_mentor=False), params, windows)
        picked = _all(conn, (
            "SELECT (SELECT count(*) FROM analytics_reviews WHERE mentor_id = :mentor "
            "AND reviewed_at >= :a7) AS reviews_7, p.* FROM (SELECT 1 AS one) o LEFT JOIN ("
            + review_hours("s.first_mentor_id = :mentor",
                           duration(conn, "s.first_reviewed_at", "s.created_at"))
            + ") p ON 1 = 1"), params, windows)
    rows = [answers.mentor_student(r["student_id"], _zeros(r)) for r in students]
    items = [answers.queue_item(q["submission_id"], q["student_id"], q["created_at"], now)
             for q in waiting]
    figures = answers.percentiles((p["created_at"], p["first_reviewed_at"], p["rn"], p["n"])
                                  for p in picked if p["rn"] is not None)
    return answers.mentor(mentor_id, rows, items, figures, picked[0]["reviews_7"])


def _zeros(row) -> dict:
    """Totals of a student with no submission (the LEFT JOIN found none)."""
    if row["submissions"] is None:
        return {"submissions": 0, "reviewed": 0, "approved": 0, "score_sum": 0, "last_at": None}
    return row
