"""What a recompute covers: everything, one cohort, or what facts ingested since the last
run's watermark touched (by ingest order: an event may carry an old occurred_at)."""

from dataclasses import dataclass, field

from sqlalchemy import bindparam, text

from services.analytics.ingest import INGEST_LOCK
from services.analytics.sql import is_postgres

# Past this many students an incremental run recomputes everything instead: one pass over
# all facts is then cheaper than lists of ids.
MAX_SCOPED_STUDENTS = 20_000


@dataclass
class Scope:
    """Ids to recompute; None means all of that kind."""

    students: set[int] | None = None
    cohorts: set[int] | None = None
    mentors: set[int] | None = None
    kind: str = "full"
    previous: int = 0  # the watermark this run starts from

    @property
    def full(self) -> bool:
        return self.students is None

    def describe(self) -> str:
        if self.full:
            return "everything"
        return (f"{len(self.cohorts)} cohorts, {len(self.students)} students, "
                f"{len(self.mentors)} mentors")


@dataclass
class _Ids:
    values: set = field(default_factory=set)

    def add(self, rows) -> None:
        self.values.update(v for (v,) in rows if v is not None)


def _ids(conn, statement: str, **params) -> list:
    query = text(statement)
    for name, value in params.items():
        if isinstance(value, set | list):
            query = query.bindparams(bindparam(name, expanding=True))
            params[name] = sorted(value)
    return conn.execute(query, params).all()


def watermark(conn) -> int:
    """The newest batch number below which every batch has committed.

    Batch numbers come from a sequence, handed out before their transactions commit: ingests
    hold a shared lock while they write, and taking it exclusively here waits them out.
    """
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": INGEST_LOCK})
        try:
            return conn.execute(text("SELECT coalesce(max(id), 0) FROM analytics_ingests")).scalar()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INGEST_LOCK})
    return conn.execute(text("SELECT coalesce(max(id), 0) FROM analytics_ingests")).scalar()


def last_watermark(conn) -> int | None:
    return conn.execute(text("SELECT max(watermark) FROM analytics_runs "
                             "WHERE kind IN ('full', 'incremental') "
                             "AND finished_at IS NOT NULL")).scalar()


def for_cohort(conn, cohort_id: int, previous: int) -> Scope:
    """One cohort: its students (any status), their mentors; the watermark stays."""
    students = _Ids()
    students.add(_ids(conn, "SELECT student_id FROM analytics_memberships "
                            "WHERE cohort_id = :c", c=cohort_id))
    return _complete(conn, Scope(students.values, {cohort_id}, set(), "cohort", previous),
                     set())


def since(conn, previous: int | None) -> Scope:
    """What facts ingested after `previous` touched; everything when there was no run."""
    if previous is None:
        return Scope(previous=0)
    new = "FROM analytics_events e WHERE e.seq > :w"
    students, cohorts, mentors, submissions = _Ids(), _Ids(), _Ids(), _Ids()
    students.add(_ids(conn, f"SELECT DISTINCT e.student_id {new}", w=previous))
    cohorts.add(_ids(conn, f"SELECT DISTINCT e.cohort_id {new}", w=previous))
    mentors.add(_ids(conn, f"SELECT DISTINCT e.mentor_id {new}", w=previous))
    submissions.add(_ids(conn, f"SELECT DISTINCT e.submission_id {new}", w=previous))
    if len(submissions.values) > MAX_SCOPED_STUDENTS:
        return Scope(kind="incremental", previous=previous)
    if submissions.values:
        students.add(_ids(conn, "SELECT DISTINCT student_id FROM analytics_submissions "
                                "WHERE submission_id IN :s", s=submissions.values))
    if len(students.values) > MAX_SCOPED_STUDENTS:
        return Scope(kind="incremental", previous=previous)
    if students.values:
        cohorts.add(_ids(conn, "SELECT DISTINCT cohort_id FROM analytics_memberships "
                               "WHERE student_id IN :s", s=students.values))
    if cohorts.values:
        students.add(_ids(conn, "SELECT student_id FROM analytics_memberships "
                                "WHERE cohort_id IN :c AND status = 'enrolled'",
                          c=cohorts.values))
    if len(students.values) > MAX_SCOPED_STUDENTS:
        return Scope(kind="incremental", previous=previous)
    scope = Scope(students.values, cohorts.values, mentors.values, "incremental", previous)
    return _complete(conn, scope, submissions.values)


def _complete(conn, scope: Scope, submissions: set) -> Scope:
    """Add the mentors whose figures depend on these students or submissions: their current
    mentors, and everyone who reviewed their submissions or a touched one (a first review may
    have moved from one mentor to another)."""
    found = _Ids(scope.mentors)
    if scope.students:
        found.add(_ids(conn, "SELECT DISTINCT mentor_id FROM analytics_mentorships "
                             "WHERE student_id IN :s", s=scope.students))
        found.add(_ids(conn, "SELECT DISTINCT mentor_id FROM analytics_reviews "
                             "WHERE student_id IN :s", s=scope.students))
    if submissions:
        found.add(_ids(conn, "SELECT DISTINCT mentor_id FROM analytics_reviews "
                             "WHERE student_id IS NULL AND submission_id IN :s", s=submissions))
    scope.mentors = found.values
    return scope
