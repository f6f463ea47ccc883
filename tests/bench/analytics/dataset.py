"""The analytics benchmark's facts, made by PostgreSQL itself (INSERT ... SELECT over
generate_series), with the indexes dropped for the load and rebuilt after."""

import time
from dataclasses import dataclass

import psycopg

from tests.bench.dataset import INDEXES_SQL

COHORT_SIZE = 25
MENTOR_BASE = 900_000
TABLES = ("analytics_memberships", "analytics_mentorships", "analytics_submissions",
          "analytics_reviews")


@dataclass
class Scale:
    students: int
    mentors: int
    submissions: int

    @property
    def per_mentor(self) -> int:
        return max(1, -(-self.students // self.mentors))

    def mentor_of(self, student: int) -> int:
        return MENTOR_BASE + (student - 1) // self.per_mentor + 1


# Submissions oldest first over a year; student i*7919 mod N spreads them evenly. All are
# reviewed one to four days later but one in a thousand (and the newest, still waiting); a
# seventh of them twice: first a low score, then the latest. Reviews are by the mentor.
LOAD_SQL = """
INSERT INTO analytics_memberships (student_id, cohort_id, status, occurred_at, event_id)
SELECT s, (s - 1) / {cohort} + 1, 'enrolled', now() - interval '400 days', 'bench:e' || s
FROM generate_series(1, {students}) AS s;

INSERT INTO analytics_mentorships (mentor_id, student_id, status, occurred_at, event_id)
SELECT {mentor_base} + (s - 1) / {per_mentor} + 1, s, 'assigned', now() - interval '400 days',
       'bench:m' || s
FROM generate_series(1, {students}) AS s;

INSERT INTO analytics_submissions (submission_id, student_id, assignment_id, created_at,
    created_event, latest_score, latest_outcome, latest_at, latest_event, first_reviewed_at,
    first_mentor_id, first_event)
SELECT i, student, 1 + i % 20, created, 'bench:s' || i,
       CASE WHEN reviewed THEN score END,
       CASE WHEN reviewed THEN CASE WHEN score >= 60 THEN 'approved'
                                    ELSE 'changes_requested' END END,
       CASE WHEN reviewed THEN latest END,
       CASE WHEN reviewed THEN 'bench:r' || i || 'b' END,
       CASE WHEN reviewed THEN CASE WHEN twice THEN created + interval '1 hour' * (1 + i % 24)
                                    ELSE latest END END,
       CASE WHEN reviewed THEN {mentor_base} + (student - 1) / {per_mentor} + 1 END,
       CASE WHEN reviewed THEN 'bench:r' || i || CASE WHEN twice THEN 'a' ELSE 'b' END END
FROM (
    SELECT i, 1 + (i::bigint * 7919) % {students} AS student, created,
           created + interval '1 hour' * (25 + i % 72) AS latest, (i * 37) % 101 AS score,
           i % 1000 <> 0 AND created + interval '1 hour' * (25 + i % 72) < now() AS reviewed,
           i % 7 = 0 AS twice
    FROM (SELECT i, now() - interval '1 second' * ({submissions} - i) * {spacing} AS created
          FROM generate_series(1, {submissions}) AS i) AS t
) AS rows;

INSERT INTO analytics_reviews (event_id, submission_id, student_id, mentor_id, reviewed_at,
                               score, outcome)
SELECT latest_event, submission_id, student_id, first_mentor_id, latest_at, latest_score,
       latest_outcome
FROM analytics_submissions WHERE latest_at IS NOT NULL
UNION ALL
SELECT first_event, submission_id, student_id, first_mentor_id, first_reviewed_at,
       latest_score / 2, 'changes_requested'
FROM analytics_submissions WHERE first_event <> latest_event;

INSERT INTO analytics_ingests (received_at, events) VALUES (now(), 0);
"""


def load(url: str, scale: Scale, log=print) -> float:
    """Fill the fact tables; returns the seconds it took."""
    started = time.perf_counter()
    sql = LOAD_SQL.format(cohort=COHORT_SIZE, students=scale.students,
                          mentor_base=MENTOR_BASE, per_mentor=scale.per_mentor,
                          submissions=scale.submissions,
                          spacing=365 * 86400 / max(scale.submissions, 1))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        indexes = []
        for table in TABLES:
            found = conn.execute(INDEXES_SQL.replace("'notifications'", f"'{table}'")).fetchall()
            indexes += [(table, *row) for row in found]
        with conn.transaction():
            for table, name, _, constraint, _ in indexes:
                if constraint:
                    conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                else:
                    conn.execute(f'DROP INDEX "{name}"')
            for statement in sql.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
        log(f"  inserted the facts in {time.perf_counter() - started:.1f} s")
        for table, _, definition, constraint, constraint_def in indexes:
            if constraint:
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" '
                             f'{constraint_def}')
            else:
                conn.execute(definition)
        log(f"  rebuilt {len(indexes)} indexes at {time.perf_counter() - started:.1f} s")
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.perf_counter() - started


def counts(url: str) -> dict:
    with psycopg.connect(url) as conn:
        return {table.removeprefix("analytics_"): conn.execute(
            f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
