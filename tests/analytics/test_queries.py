"""Query budgets: each dashboard costs the same number of queries however much data grows."""

import pytest

from services.analytics.recompute import recompute
from shared.observability import count_queries
from tests.analytics.stream import stream

ADMIN = 1_000_000


def grow(app, send, students: int, seed: int) -> None:
    """A stream where every student has the same mentor (900) and cohort (1), re-keyed so
    each call adds new events."""
    events = stream(seed=seed, students=students, cohorts=1, mentors=1)
    for e in events:
        e["id"] = f"{seed}-{e['id']}"
        for key in ("student_id", "submission_id"):
            if key in e["data"]:
                e["data"][key] += seed * 1_000_000
    for start in range(0, len(events), 5000):
        send(events[start:start + 5000])


def queries(client, path: str, headers) -> int:
    with count_queries() as stats:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.json
    return stats.count


@pytest.mark.parametrize(("flag", "path", "budget"), [
    ("off", "students/{student}", 1),
    ("off", "mentors/900", 3),
    ("off", "cohorts/1", 1),
    ("on", "students/{student}", 1),
    ("on", "mentors/900", 1),
    ("on", "cohorts/1", 1),
])
def test_fixed_budget_as_data_grows(make_app, send, tokens, flag, path, budget):
    app = make_app(USE_ANALYTICS_SUMMARY=flag)
    client = app.test_client()
    found = []
    for students, seed in ((5, 1), (50, 2)):
        grow(app, send, students, seed)
        if flag == "on":
            with app.app_context():
                recompute(full=True)
        url = f"/api/analytics/{path.format(student=seed * 1_000_000 + 1)}/dashboard"
        found.append(queries(client, url, tokens.user(ADMIN, "admin")))
    assert found == [budget, budget]


def test_a_mentor_of_fifty_students_costs_a_handful(make_app, send, tokens):
    app = make_app()
    grow(app, send, 50, 3)
    body = app.test_client().get("/api/analytics/mentors/900/dashboard",
                                 headers=tokens.user(900, "mentor")).json
    assert len(body["students"]) >= 40  # a few were unassigned by the stream
    assert queries(app.test_client(), "/api/analytics/mentors/900/dashboard",
                   tokens.user(900, "mentor")) <= 4
