"""The three dashboards: who may see what, and every figure as API.md defines it."""

from datetime import timedelta

import pytest

from tests.analytics.stream import NOW, event

ADMIN = 1_000_000
M1, M2 = 900_001, 900_002


@pytest.fixture
def facts(send):
    """Cohort 1: students 1 and 2 (mentor M1), 3 left (mentor M2); cohort 2: student 4."""
    day = timedelta(days=1)
    events = [
        *(event(f"e{s}", "student.enrolled", NOW - 90 * day, student_id=s, cohort_id=c)
          for s, c in ((1, 1), (2, 1), (3, 1), (4, 2))),
        event("l3", "student.left", NOW - 10 * day, student_id=3, cohort_id=1),
        *(event(f"m{s}", "mentor.assigned", NOW - 90 * day, mentor_id=m, student_id=s)
          for s, m in ((1, M1), (2, M1), (3, M2), (4, M2))),
        # Student 1: three submissions; 11 reviewed twice (latest 95), 12 once, 13 pending.
        event("s11", "submission.created", NOW - 20 * day, submission_id=11, student_id=1,
              assignment_id=1),
        event("r11a", "submission.reviewed", NOW - 20 * day + timedelta(hours=10),
              submission_id=11, mentor_id=M1, score=40, outcome="changes_requested"),
        event("r11b", "submission.reviewed", NOW - 3 * day, submission_id=11, mentor_id=M1,
              score=100, outcome="approved"),
        event("s12", "submission.created", NOW - 2 * day, submission_id=12, student_id=1,
              assignment_id=2),
        event("r12", "submission.reviewed", NOW - 2 * day + timedelta(hours=30),
              submission_id=12, mentor_id=M1, score=9, outcome="changes_requested"),
        event("s13", "submission.created", NOW - 5 * day, submission_id=13, student_id=1,
              assignment_id=3),
        # Student 3 (left cohort 1): counted for themselves, not for the cohort.
        event("s31", "submission.created", NOW - 1 * day, submission_id=31, student_id=3,
              assignment_id=1),
    ]
    send(events)


def get(client, tokens, path, user=ADMIN, role="admin", **claims):
    return client.get(f"/api/analytics/{path}/dashboard", headers=tokens.user(user, role, **claims))


def test_student_dashboard_figures(facts, client, tokens):
    body = get(client, tokens, "students/1", 1, "student").json
    assert {k: body[k] for k in ("student_id", "cohort_id", "submissions", "reviewed", "pending",
                                 "approved", "average_score", "source")} == {
        "student_id": 1, "cohort_id": 1, "submissions": 3, "reviewed": 2, "pending": 1,
        "approved": 1, "average_score": 54.5, "source": "live"}
    assert len(body["weekly"]) == 12 and body["weekly"][-1]["week"] == (
        f"{NOW.isocalendar()[0]}-W{NOW.isocalendar()[1]:02d}")
    assert sum(w["submissions"] for w in body["weekly"]) == 3
    assert sum(w["reviewed"] for w in body["weekly"]) == 3  # re-reviews count
    assert [w["week"] for w in body["weekly"]] == sorted(w["week"] for w in body["weekly"])
    assert body["computed_at"].endswith("Z")
    assert body["streak"] is None and body["points"] is None  # gamification unreachable
    assert body["unavailable"] == ["gamification"]


def test_who_may_see_a_student(facts, client, tokens):
    assert get(client, tokens, "students/1", 1, "student").status_code == 200
    assert get(client, tokens, "students/2", 1, "student").status_code == 404
    assert get(client, tokens, "students/1", M1, "mentor").status_code == 200
    assert get(client, tokens, "students/3", M1, "mentor").status_code == 404  # not assigned
    assert get(client, tokens, "students/4").status_code == 200
    assert get(client, tokens, "students/77").status_code == 404
    # A student with no facts yet sees their own (empty) dashboard.
    own = get(client, tokens, "students/77", 77, "student")
    assert own.status_code == 200 and own.json["cohort_id"] is None
    assert own.json["submissions"] == 0 and own.json["average_score"] is None


def test_mentor_dashboard(facts, client, tokens):
    body = get(client, tokens, f"mentors/{M1}", M1, "mentor").json
    assert [s["student_id"] for s in body["students"]] == [1, 2]
    one, two = body["students"]
    assert (one["submissions"], one["pending"], one["average_score"]) == (3, 1, 54.5)
    assert one["last_submission_at"].startswith((NOW - timedelta(days=2)).date().isoformat())
    assert (two["submissions"], two["average_score"], two["last_submission_at"]) == (0, None, None)
    assert [q["submission_id"] for q in body["queue"]] == [13]
    assert body["queue"][0]["waiting_hours"] == pytest.approx(120, abs=0.1)
    # First reviews of the last 30 days: 11 after 10 h, 12 after 30 h (nearest rank).
    assert body["review_hours"] == {"p50": 10.0, "p90": 30.0}
    assert body["reviews_last_7_days"] == 2


def test_queue_is_oldest_first_and_at_most_100(send, client, tokens):
    send([event("m", "mentor.assigned", NOW, mentor_id=M1, student_id=1)] + [
        event(f"s{n}", "submission.created", NOW - timedelta(minutes=n), submission_id=n,
              student_id=1, assignment_id=1) for n in range(1, 131)])
    queue = get(client, tokens, f"mentors/{M1}").json["queue"]
    assert [q["submission_id"] for q in queue] == list(range(130, 30, -1))


def test_who_may_see_a_mentor(facts, client, tokens):
    assert get(client, tokens, f"mentors/{M1}", M1, "mentor").status_code == 200
    assert get(client, tokens, f"mentors/{M1}", M2, "mentor").status_code == 404
    assert get(client, tokens, f"mentors/{M1}", 1, "student").status_code == 403
    empty = get(client, tokens, "mentors/900999")
    assert empty.status_code == 200 and empty.json["students"] == empty.json["queue"] == []
    assert empty.json["review_hours"] == {"p50": None, "p90": None}


def test_cohort_dashboard(facts, client, tokens):
    body = get(client, tokens, "cohorts/1", M1, "mentor", cohort_id=1).json
    assert {k: body[k] for k in ("students", "active_last_7_days", "submissions", "reviewed",
                                 "pending", "average_score")} == {
        "students": 2, "active_last_7_days": 1, "submissions": 3, "reviewed": 2, "pending": 1,
        "average_score": 54.5}
    assert body["score_histogram"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]  # 9 and 100
    assert len(body["daily"]) == 30 and body["daily"][-1]["date"] == NOW.date().isoformat()
    assert sum(d["submissions"] for d in body["daily"]) == 3
    assert sum(d["reviews"] for d in body["daily"]) == 3
    assert body["oldest_pending_hours"] == pytest.approx(120, abs=0.1)


def test_who_may_see_a_cohort(facts, client, tokens):
    assert get(client, tokens, "cohorts/1", M1, "mentor", cohort_id=1).status_code == 200
    assert get(client, tokens, "cohorts/2", M1, "mentor", cohort_id=1).status_code == 404
    assert get(client, tokens, "cohorts/1", M1, "mentor").status_code == 404  # no claim
    assert get(client, tokens, "cohorts/1", 1, "student", cohort_id=1).status_code == 403
    assert get(client, tokens, "cohorts/2").status_code == 200
    assert get(client, tokens, "cohorts/3").status_code == 404


def test_the_openapi_document_describes_every_route(client):
    paths = client.get("/api/analytics/openapi.json").json["paths"]
    assert set(paths) >= {"/api/analytics/students/{student_id}/dashboard",
                          "/api/analytics/mentors/{mentor_id}/dashboard",
                          "/api/analytics/cohorts/{cohort_id}/dashboard",
                          "/internal/analytics/events"}
    body = paths["/internal/analytics/events"]["post"]["requestBody"]
    assert "EventsDocument" in str(body)
