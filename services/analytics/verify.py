"""verify-analytics: every summary answer against the live answer as of the same moment."""

import random

from sqlalchemy import text

from services.analytics import live, summary
from services.analytics.compare import differences
from services.analytics.db import db
from services.analytics.sql import as_time


def _ids(statement: str, params: dict | None = None) -> list[int]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text(statement), params or {})]


def _computed_at(kind: str, key: int):
    """When the summary row of this cohort, student or mentor was computed (None: no row)."""
    rows = _ids(f"SELECT computed_at FROM analytics_{kind}_summaries WHERE {kind}_id = :k",
                {"k": key})
    return as_time(rows[0]) if rows else None


def _sample(ids: list[int], size: int | None) -> list[int]:
    return sorted(random.sample(ids, size)) if size is not None and size < len(ids) else ids


def verify(*, cohort: int | None = None, sample: int | None = None, log=None) -> list[str]:
    """Every difference between summary and live answers: cohorts (all, or one), their
    students and these students' mentors, or `sample` of each kind."""
    if cohort is None:
        cohorts = _ids("SELECT cohort_id FROM analytics_cohort_summaries ORDER BY cohort_id")
        students = _ids("SELECT student_id FROM analytics_student_summaries "
                        "ORDER BY student_id")
        mentors = _ids("SELECT mentor_id FROM analytics_mentor_summaries ORDER BY mentor_id")
    else:
        cohorts = [cohort]
        students = _ids("SELECT student_id FROM analytics_memberships WHERE cohort_id = :c "
                        "ORDER BY student_id", {"c": cohort})
        mentors = _ids("SELECT DISTINCT mentor_id FROM analytics_mentorships WHERE student_id "
                       "IN (SELECT student_id FROM analytics_memberships WHERE cohort_id = :c) "
                       "ORDER BY mentor_id", {"c": cohort})
    found = []
    checks = (("cohort", cohorts, lambda i, at: (live.cohort(i, at), summary.cohort(i, at)[0])),
              ("student", students, lambda i, at: (live.student(i, 0, at)[0],
                                                   summary.student(i, 0, at)[0])),
              ("mentor", mentors, lambda i, at: (live.mentor(i, at), summary.mentor(i, at)[0])))
    for kind, ids, answers in checks:
        for key in _sample(ids, sample):
            at = _computed_at(kind, key)
            if at is None:
                found.append(f"{kind} {key}: no summary")
                continue
            found += [f"{kind} {key}: {d}" for d in differences(*answers(key, at))]
    if log:
        log(f"compared {min(len(cohorts), sample or len(cohorts))} cohorts, "
            f"{min(len(students), sample or len(students))} students, "
            f"{min(len(mentors), sample or len(mentors))} mentors")
    return found
