"""The passes of a recompute: the statements that stage the facts grouped small and write
the summaries from them, run on one connection with the scope's parameters.

Full runs write into the tables' fresh copies (publish.py), other runs in place.
"""

import time
from contextlib import contextmanager

from sqlalchemy import bindparam, text

from services.analytics import publish
from services.analytics import scope as scopes
from services.analytics.figures import (
    COHORT,
    DAYS,
    ENROLLED,
    HIST_NAMES,
    WEEKS,
    Windows,
    owned_reviews,
    queue,
    review_hours,
    student_totals,
    window_counts,
)
from services.analytics.sql import (
    count_list,
    duration,
    is_postgres,
    joined_counts,
    json_array,
)

TEMP = ("analytics_tmp_s", "analytics_tmp_w", "analytics_tmp_p", "analytics_tmp_r7")


def _filter(column: str, ids, name: str) -> str:
    return "true" if ids is None else f"{column} IN :{name}"


class Pass:
    """Runs the statements of one recompute on one connection, with its parameters."""

    def __init__(self, conn, scope: scopes.Scope, windows: Windows, log):
        self.conn, self.scope, self.log = conn, scope, log
        self.fresh = scope.full and is_postgres(conn)
        self.params = windows.params(conn)
        self.lists = {"students": scope.students, "cohorts": scope.cohorts,
                      "mentors": scope.mentors}

    def run(self, statement: str, what: str = "") -> int:
        query, params = text(statement), dict(self.params)
        for name, ids in self.lists.items():
            if ids is not None and f":{name}" in statement:
                query = query.bindparams(bindparam(name, expanding=True))
                params[name] = sorted(ids) or [0]
        started = time.perf_counter()
        count = self.conn.execute(query, params).rowcount
        if self.log and what:
            self.log(f"  {what}: {count} rows in {time.perf_counter() - started:.2f} s")
        return max(count, 0)

    def temp(self, name: str, select: str) -> None:
        self.run(f"CREATE TEMP TABLE {name} AS {select}", f"staged {name}")

    def replace(self, table: str, where: str, insert: str, what: str) -> int:
        """Replace the rows of `table` that `where` picks by those of `insert` ("(columns)
        SELECT ..."): in place, or on a full run into the fresh copy publish.swap() swaps in."""
        if self.fresh:
            return self.run(f"INSERT INTO {table}{publish.NEXT} {insert}", what)
        self.run(f"DELETE FROM {table} WHERE {where}")
        return self.run(f"INSERT INTO {table} {insert}", what)


_NEVER = -1  # a jit_*_above_cost that no statement reaches


@contextmanager
def _settings(conn, **values):
    """Settings for the statements inside only, then back to the transaction's."""
    if not is_postgres(conn):
        yield
        return
    before = {name: conn.execute(text(f"SHOW {name}")).scalar() for name in values}
    for name, value in values.items():
        conn.execute(text(f"SET LOCAL {name} = {value}"))
    yield
    for name, value in before.items():
        conn.execute(text(f"SET LOCAL {name} = '{value}'"))


# JIT for the pass over every submission, whose 16 aggregates run millions of times; the
# other passes read a fraction of the rows, and each parallel worker would compile their
# dozens of expressions for about as long as they save.
_JIT = {"jit": "on"}


def stage(p: Pass) -> None:
    """The students' and cohorts' passes over the facts, each grouped small: all-time totals
    per student (one GROUP BY over every submission), then the recent windows, which BRIN
    indexes on the times keep to the recent part of each table."""
    s = p.scope
    students = _filter("s.student_id", s.students, "students")
    with _settings(p.conn, **_JIT):
        p.temp("analytics_tmp_s", student_totals(students, weeks=False))
    # The recent windows, one statement: its four branches are independent aggregations,
    # which PostgreSQL runs side by side in parallel workers (a Parallel Append).
    p.temp("analytics_tmp_w", " UNION ALL ".join(_windows(p)))


def _windows(p: Pass) -> list[str]:
    """Counts per recent window, one row per (kind, id): weeks of submissions ("ws") and of
    reviews ("wr") per student, days of each ("ds", "dr") per cohort."""
    s = p.scope
    students = _filter("s.student_id", s.students, "students")
    scoped = None if s.full else "IN :students"
    cohorts = _filter("m.cohort_id", s.cohorts, "cohorts")
    members = f"JOIN analytics_memberships m ON m.status = {ENROLLED} AND m.student_id = "

    def counts(kind: str, key: str, column: str, prefix: str, rest: str) -> str:
        values = count_list(p.conn, window_counts(column, prefix))
        return f"SELECT '{kind}' AS kind, {key} AS id, {values} AS counts {rest} GROUP BY {key}"

    return [
        counts("ws", "s.student_id", "s.created_at", "w",
               f"FROM analytics_submissions s WHERE s.created_at >= :w0 AND {students}"),
        counts("wr", "r.student_id", "r.reviewed_at", "w",
               f"FROM {owned_reviews(':w0', scoped)} r"),
        counts("ds", "m.cohort_id", "s.created_at", "d",
               f"FROM analytics_submissions s {members}s.student_id "
               f"WHERE s.created_at >= :d0 AND {cohorts} AND {students}"),
        counts("dr", "m.cohort_id", "r.reviewed_at", "d",
               f"FROM {owned_reviews(':d0', scoped)} r {members}r.student_id WHERE {cohorts}"),
    ]


def _paired(first: str, second: str) -> str:
    """The staged count lists of two kinds side by side, a row per id: one join for both
    (a join per kind sorted the staged rows once each)."""
    lists = ", ".join(f"max(counts) FILTER (WHERE kind = '{k}') AS {k}" for k in (first, second))
    return (f"(SELECT id, {lists} FROM analytics_tmp_w WHERE kind IN ('{first}', '{second}') "
            "GROUP BY id)")


def write_students(p: Pass) -> int:
    s = p.scope
    ids = ("SELECT student_id FROM analytics_memberships UNION SELECT student_id FROM "
           "analytics_mentorships UNION SELECT student_id FROM analytics_tmp_s")
    current = (f"SELECT student_id, cohort_id, row_number() OVER (PARTITION BY student_id "
               f"ORDER BY occurred_at DESC, event_id DESC) AS rn FROM analytics_memberships "
               f"WHERE status = {ENROLLED}")
    if not s.full:
        ids = f"SELECT student_id FROM ({ids}) a WHERE student_id IN :students"
        current += " AND student_id IN :students"
    weekly = joined_counts([("w.ws", WEEKS), ("w.wr", WEEKS)])
    return p.replace(
        "analytics_student_summaries", _filter("student_id", s.students, "students"),
        "(student_id, cohort_id, submissions, reviewed, approved, score_sum, "
        "last_submission_at, weekly, computed_at) SELECT i.student_id, c.cohort_id, "
        "coalesce(t.submissions, 0), coalesce(t.reviewed, 0), "
        f"coalesce(t.approved, 0), coalesce(t.score_sum, 0), t.last_at, {weekly}, :now "
        f"FROM ({ids}) i LEFT JOIN ({current}) c ON c.student_id = i.student_id AND c.rn = 1 "
        "LEFT JOIN analytics_tmp_s t ON t.student_id = i.student_id "
        f"LEFT JOIN {_paired('ws', 'wr')} w ON w.id = i.student_id", "student summaries")


def write_cohorts(p: Pass) -> int:
    s = p.scope
    where = _filter("m.cohort_id", s.cohorts, "cohorts")
    histogram = json_array(p.conn, [f"c.{n}" for n in HIST_NAMES])
    daily = joined_counts([("d.ds", DAYS), ("d.dr", DAYS)])
    figures = (
        f"SELECT k.cohort_id, {', '.join(COHORT)} FROM (SELECT DISTINCT "
        f"cohort_id FROM analytics_memberships m WHERE {where}) k "
        f"LEFT JOIN analytics_memberships m ON m.cohort_id = k.cohort_id AND m.status = {ENROLLED} "
        "LEFT JOIN analytics_tmp_s t ON t.student_id = m.student_id GROUP BY k.cohort_id")
    return p.replace(
        "analytics_cohort_summaries", _filter("cohort_id", s.cohorts, "cohorts"),
        "(cohort_id, students, active_last_7_days, submissions, reviewed, approved, "
        "score_sum, histogram, oldest_pending_at, daily, computed_at) SELECT c.cohort_id, "
        "c.students, c.active, c.submissions, c.reviewed, c.approved, c.score_sum, "
        f"{histogram}, c.oldest_pending, {daily}, :now "
        f"FROM ({figures}) c "
        f"LEFT JOIN {_paired('ds', 'dr')} d ON d.id = c.cohort_id",
        "cohort summaries")


def write_mentors(p: Pass) -> int:
    """The mentors' summaries (review-time percentiles, reviews of the last 7 days) and
    queues: from the facts only, nothing the students' passes stage."""
    s = p.scope
    mentor_filter = _filter("mentor_id", s.mentors, "mentors")
    # One process sorts: split between parallel workers (a Gather Merge feeding the window
    # pass) the sort was faster alone, but a full run writes these beside the students'
    # passes, which keep the other core busy.
    p.temp("analytics_tmp_p", review_hours(
        _filter("s.first_mentor_id", s.mentors, "mentors"),
        duration(p.conn, "s.first_reviewed_at", "s.created_at")))
    p.temp("analytics_tmp_r7", "SELECT r.mentor_id, count(*) AS reviews FROM analytics_reviews r "
           f"WHERE r.reviewed_at >= :a7 AND {_filter('r.mentor_id', s.mentors, 'mentors')} "
           "GROUP BY r.mentor_id")
    ids = ("SELECT mentor_id FROM analytics_mentorships UNION SELECT mentor_id FROM "
           "analytics_tmp_p UNION SELECT mentor_id FROM analytics_tmp_r7")
    if not s.full:
        ids = f"SELECT mentor_id FROM ({ids}) a WHERE mentor_id IN :mentors"
    at = {50: "p.rn = (p.n + 1) / 2", 90: "p.rn = (9 * p.n + 9) / 10"}
    ranks = ", ".join(f"max(p.{column}) FILTER (WHERE {at[rank]})"
                      for rank in (50, 90) for column in ("created_at", "first_reviewed_at"))
    rows = p.replace(
        "analytics_mentor_summaries", mentor_filter,
        "(mentor_id, p50_created_at, p50_reviewed_at, p90_created_at, p90_reviewed_at, "
        f"reviews_last_7_days, computed_at) SELECT i.mentor_id, {ranks}, "
        f"coalesce(max(r7.reviews), 0), :now FROM ({ids}) i "
        "LEFT JOIN analytics_tmp_p p ON p.mentor_id = i.mentor_id "
        "LEFT JOIN analytics_tmp_r7 r7 ON r7.mentor_id = i.mentor_id GROUP BY i.mentor_id",
        "mentor summaries")
    waiting = queue(_filter("m.mentor_id", s.mentors, "mentors"), per_mentor=True)
    return rows + p.replace(
        "analytics_mentor_queue", mentor_filter, "(mentor_id, submission_id, student_id, "
        f"submitted_at) SELECT mentor_id, submission_id, student_id, created_at FROM ({waiting}) q",
        "queue entries")


def drop_temp(conn) -> None:
    for name in TEMP:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


def configure(conn) -> None:
    """The settings the passes are tuned for, for the transaction (PostgreSQL)."""
    if not is_postgres(conn):
        return
    # Hash aggregates of every student in memory. JIT only where it pays (_JIT), compiling
    # expressions, unoptimised: optimising them costs more than it saves.
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    conn.execute(text("SET LOCAL jit = off"))
    conn.execute(text(f"SET LOCAL jit_inline_above_cost = {_NEVER}"))
    conn.execute(text(f"SET LOCAL jit_optimize_above_cost = {_NEVER}"))
    # The leader only gathers: running a branch of the windows' Parallel Append itself, it
    # would leave the workers waiting on full queues of finished rows.
    conn.execute(text("SET LOCAL parallel_leader_participation = off"))
