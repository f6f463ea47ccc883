"""Ingest: idempotent by event id, order-independent, one bulk statement per table."""

import random

from tests.analytics.stream import NOW, event, stream
from tests.conftest import Tokens

ADMIN = 1_000_000


def dashboards(client, tokens: Tokens) -> dict:
    """Every dashboard of the stream's students, mentors and cohorts, without the time."""
    admin = tokens.user(ADMIN, "admin")
    answers = {}
    for path in ([f"students/{s}" for s in range(1, 13)] + [f"mentors/{m}" for m in (900, 901, 902)]
                 + ["cohorts/1", "cohorts/2"]):
        response = client.get(f"/api/analytics/{path}/dashboard", headers=admin)
        assert response.status_code == 200, (path, response.json)
        body = response.json
        body.pop("computed_at")
        for item in body.get("queue", []):
            item.pop("waiting_hours")  # counts to the moment of the request
        body.pop("oldest_pending_hours", None)
        answers[path] = body
    return answers


def test_in_order_shuffled_and_doubled_give_the_same_dashboards(make_app, tokens):
    events = stream(seed=7)
    shuffled = random.Random(3).sample(events, len(events))
    doubled = random.Random(4).sample(events * 2, 2 * len(events))
    results = []
    for order in (events, shuffled, doubled):
        app = make_app()
        client = app.test_client()
        for start in range(0, len(order), 37):  # many batches, duplicates across them
            response = client.post("/internal/analytics/events", headers=tokens.service,
                                   json={"events": order[start:start + 37]})
            assert response.status_code == 200, response.json
        results.append(dashboards(client, tokens))
        from tests.support.databases import empty_tables

        empty_tables(app)
    assert results[0] == results[1] == results[2]
    assert any(r["submissions"] for r in results[0].values() if "weekly" in r)


def test_repeated_events_count_as_duplicates_and_change_nothing(send, counts):
    events = stream(seed=1, students=3)
    assert send(events) == {"accepted": len(events), "duplicates": 0, "rejected": []}
    before = counts()
    assert send(events[:5] + events[:5]) == {"accepted": 0, "duplicates": 10, "rejected": []}
    after = counts()
    assert after.pop("analytics_ingests") == before.pop("analytics_ingests") + 1  # the batch log
    assert after == before


def test_an_id_twice_in_one_batch_is_written_once(send, counts):
    first = event("x1", "student.enrolled", NOW, student_id=1, cohort_id=1)
    other = event("x1", "student.enrolled", NOW, student_id=2, cohort_id=1)
    assert send([first, other]) == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert counts()["analytics_memberships"] == 1


def test_a_review_before_its_submission_is_joined_when_it_arrives(send, client, tokens):
    admin = tokens.user(ADMIN, "admin")
    send([event("r1", "submission.reviewed", NOW, submission_id=5, mentor_id=900, score=80,
                outcome="approved"),
          event("e1", "student.enrolled", NOW, student_id=1, cohort_id=1)])
    body = client.get("/api/analytics/students/1/dashboard", headers=admin).json
    assert (body["submissions"], body["reviewed"]) == (0, 0)
    send([event("s1", "submission.created", NOW.replace(year=NOW.year - 1),
                submission_id=5, student_id=1, assignment_id=1)])
    body = client.get("/api/analytics/students/1/dashboard", headers=admin).json
    assert (body["submissions"], body["reviewed"], body["approved"]) == (1, 1, 1)
    assert body["average_score"] == 80


def test_the_latest_review_by_occurred_at_wins_whatever_arrives_last(send, client, tokens):
    from datetime import timedelta

    created = event("s1", "submission.created", NOW - timedelta(days=3), submission_id=5,
                    student_id=1, assignment_id=1)
    later = event("r2", "submission.reviewed", NOW - timedelta(days=1), submission_id=5,
                  mentor_id=900, score=90, outcome="approved")
    earlier = event("r1", "submission.reviewed", NOW - timedelta(days=2), submission_id=5,
                    mentor_id=901, score=30, outcome="changes_requested")
    for batch in ([created], [later], [earlier]):  # the re-review arrives first
        send(batch)
    body = client.get("/api/analytics/students/1/dashboard",
                      headers=tokens.user(ADMIN, "admin")).json
    assert (body["average_score"], body["approved"], body["reviewed"]) == (90, 1, 1)
    # Both reviews were made: the weekly counts show two.
    assert sum(w["reviewed"] for w in body["weekly"]) == 2
    # The first review (by occurred_at) is 901's, though it arrived last.
    mentor = client.get("/api/analytics/mentors/901/dashboard",
                        headers=tokens.user(ADMIN, "admin")).json
    assert mentor["review_hours"] == {"p50": 24.0, "p90": 24.0}


def test_a_batch_is_one_statement_per_table(app, client, tokens):
    from shared.observability import count_queries

    events = stream(seed=2, students=40)[:5000]
    with count_queries() as stats:
        response = client.post("/internal/analytics/events", json={"events": events},
                               headers=tokens.service)
    assert response.status_code == 200 and response.json["accepted"] == len(events)
    # One read (do creations keep their submissions' students?), then the batch number, the
    # ledger, memberships, mentorships, submissions, reviews (+ the shared lock on
    # PostgreSQL): the same however many events.
    assert stats.count <= 8


def test_a_submission_never_changes_student(send, client, tokens, counts):
    send([event("c1", "submission.created", NOW, submission_id=5, student_id=1,
                assignment_id=1)])
    moved = event("c2", "submission.created", NOW, submission_id=5, student_id=2,
                  assignment_id=1)
    response = client.post("/internal/analytics/events", headers=tokens.service,
                           json={"events": [moved]})
    assert response.status_code == 400
    assert response.json["errors"] == [{"index": 0, "id": "c2", "detail":
                                        "submission 5 belongs to student 1, not 2"}]
    both = [event("c3", "submission.created", NOW, submission_id=6, student_id=1,
                  assignment_id=1),
            event("c4", "submission.created", NOW, submission_id=6, student_id=3,
                  assignment_id=1),
            event("c5", "submission.created", NOW, submission_id=7, student_id=3,
                  assignment_id=1)]
    answer = send(both, partial=True)
    assert answer["accepted"] == 1 and [r["id"] for r in answer["rejected"]] == ["c3", "c4"]
    assert counts()["analytics_submissions"] == 2
