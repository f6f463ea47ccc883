"""Demo facts: enrolments in cohorts of 25, a mentor per cohort, submissions and reviews over
the last weeks, sent through the same ingest as the core app's events (idempotent), then a
full recompute so the summaries hold them too."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text

from services.analytics.db import db
from services.analytics.events import MAX_EVENTS, Event
from services.analytics.ingest import ingest
from services.analytics.models import Event as EventRow
from services.analytics.recompute import recompute
from shared.db import utcnow
from shared.demo import DEFAULT_STUDENTS, cohort_of, mentor_of, seed_command, student_ids
from shared.locks import command_lock

DEMO = "demo:"
SPREAD_DAYS = 42
# (table, column holding the event id that made the row)
DEMO_ROWS = (("analytics_events", "event_id"), ("analytics_reviews", "event_id"),
             ("analytics_memberships", "event_id"), ("analytics_mentorships", "event_id"),
             ("analytics_submissions", "created_event"))


@dataclass
class SeedReport:
    accepted: int = 0
    duplicates: int = 0
    deleted: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        if self.dry_run:
            return f"analytics: would ingest {self.accepted} demo events"
        deleted = f", deleted {self.deleted} demo rows" if self.deleted else ""
        return (f"analytics: ingested {self.accepted} demo events ({self.duplicates} were "
                f"there already){deleted}, summaries recomputed")


def _events_for(student: int, now: datetime) -> list[Event]:
    """The student's demo events, the same on every run (ids and times)."""
    rng = random.Random(student)
    cohort = cohort_of(student)
    start = now - timedelta(days=SPREAD_DAYS + 14)
    events = [Event(f"{DEMO}{student}:enrolled", "student.enrolled", start,
                    {"student_id": student, "cohort_id": cohort}),
              Event(f"{DEMO}{student}:mentor", "mentor.assigned", start,
                    {"mentor_id": mentor_of(cohort), "student_id": student})]
    for n in range(rng.randint(3, 10)):
        created = now - timedelta(days=rng.uniform(0.2, SPREAD_DAYS))
        submission = student * 100 + n
        events.append(Event(f"{DEMO}{student}:s{n}", "submission.created", created,
                            {"submission_id": submission, "student_id": student,
                             "assignment_id": 1 + rng.randrange(12)}))
        reviewed = created + timedelta(hours=rng.uniform(2, 96))
        for r in range(2 if rng.random() < 0.2 else 1):
            if reviewed > now or rng.random() > 0.85:
                break
            score = rng.randint(40 if r else 20, 100)
            events.append(Event(f"{DEMO}{student}:s{n}:r{r}", "submission.reviewed", reviewed,
                                {"submission_id": submission, "mentor_id": mentor_of(cohort),
                                 "score": score,
                                 "outcome": "approved" if score >= 60 else "changes_requested"}))
            reviewed += timedelta(hours=rng.uniform(12, 72))
    return events


def _batches(students: int):
    now, batch = utcnow().replace(minute=0, second=0, microsecond=0), []
    for student in student_ids(students):
        batch += _events_for(student, now)
        if len(batch) >= MAX_EVENTS - 100:
            yield batch
            batch = []
    if batch:
        yield batch


def is_empty() -> bool:
    """Whether the service holds no event at all (a fresh install)."""
    return db.session.scalar(select(EventRow.event_id).limit(1)) is None


def seed_demo(students: int = DEFAULT_STUDENTS, *, reset: bool = False, dry_run: bool = False,
              log=None) -> SeedReport:
    """Ingest demo events for students 1..N; idempotent. `reset` deletes demo facts first."""
    report = SeedReport(dry_run=dry_run)
    with command_lock(db, "seed-demo"):
        if dry_run:
            report.accepted = sum(len(b) for b in _batches(students))
            return report
        if reset:
            with db.transaction() as conn:
                for table, column in DEMO_ROWS:
                    report.deleted += conn.execute(
                        text(f"DELETE FROM {table} WHERE {column} LIKE :demo"),
                        {"demo": f"{DEMO}%"}).rowcount
        for batch in _batches(students):
            accepted, duplicates = ingest(batch)
            report.accepted += accepted
            report.duplicates += duplicates
            if log:
                log(f"analytics: ingested {accepted} of {len(batch)} events")
    with command_lock(db, "recompute-analytics"):
        recompute(full=True, log=log)
    return report


seed_demo_command = seed_command(
    seed_demo, "Load demo events for students 1..N (idempotent) and recompute the summaries.")
