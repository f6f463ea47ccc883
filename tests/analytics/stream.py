"""Generated event streams: enrolments, mentors, submissions, reviews and re-reviews."""

import random
from datetime import UTC, datetime, timedelta

from shared.db import isoformat_z

NOW = datetime.now(UTC).replace(microsecond=0)


def event(event_id: str, kind: str, at: datetime, **data) -> dict:
    return {"id": event_id, "type": kind, "occurred_at": isoformat_z(at), "data": data}


def stream(seed: int, students: int = 12, cohorts: int = 2, mentors: int = 3,
           now: datetime = NOW) -> list[dict]:
    """A plausible history, in occurred_at order: students enrol (some leave or move),
    mentors are assigned (some unassigned), submissions are reviewed, some again, some by
    another mentor, some never; times spread over 16 weeks, all distinct."""
    rng = random.Random(seed)
    events, tick = [], [0]

    def at(days_ago: float) -> datetime:
        tick[0] += 1
        return now - timedelta(days=days_ago, microseconds=tick[0])

    for s in range(1, students + 1):
        cohort = 1 + s % cohorts
        events.append(event(f"e{s}", "student.enrolled", at(120), student_id=s, cohort_id=cohort))
        mentor = 900 + s % mentors
        events.append(event(f"m{s}", "mentor.assigned", at(119), mentor_id=mentor, student_id=s))
        if rng.random() < 0.15:
            events.append(event(f"l{s}", "student.left", at(rng.uniform(0, 100)),
                                student_id=s, cohort_id=cohort))
        if rng.random() < 0.1:
            events.append(event(f"u{s}", "mentor.unassigned", at(rng.uniform(0, 100)),
                                mentor_id=mentor, student_id=s))
        for n in range(rng.randint(0, 8)):
            sid = s * 100 + n
            created = rng.uniform(0, 110)
            events.append(event(f"s{sid}", "submission.created", at(created), submission_id=sid,
                                student_id=s, assignment_id=1 + n))
            days = created
            for r in range(rng.choice((0, 1, 1, 1, 2, 3))):
                days = max(0.0, days - rng.uniform(0.01, 4))
                score = rng.randint(0, 100)
                events.append(event(
                    f"r{sid}.{r}", "submission.reviewed", at(days), submission_id=sid,
                    mentor_id=rng.choice((mentor, mentor, 900 + rng.randrange(mentors))),
                    score=score, outcome=rng.choice(("approved", "changes_requested"))))
    events.sort(key=lambda e: e["occurred_at"])
    return events
