"""Bad input answers a clear 4xx problem naming what is wrong, and writes nothing."""

import pytest

from tests.analytics.stream import NOW, event
from tests.support.problems import assert_problem

EVENTS = "/internal/analytics/events"
GOOD = event("g1", "submission.created", NOW, submission_id=1, student_id=1, assignment_id=1)
BIG = 2**63


def bad(**changes):
    raw = {**GOOD, **changes}
    return {k: v for k, v in raw.items() if v is not ...}


def data(**changes):
    return bad(data={**GOOD["data"], **changes})


@pytest.mark.parametrize(("raw", "words"), [
    (bad(id=...), "id is required"),
    (bad(id=""), "id must be"),
    (bad(id="x" * 65), "id must be"),
    (bad(id=7), "id must be"),
    (bad(id="a\x00b"), "control"),
    (bad(id="a\ud800b"), "surrogate"),
    (bad(type="submission.deleted"), "type must be one of"),
    (bad(type=None), "type must be one of"),
    (bad(occurred_at="2026-11-29T10:00:00"), "occurred_at"),
    (bad(occurred_at="yesterday"), "occurred_at"),
    (bad(occurred_at="0001-01-01T00:00:00+05:00"), "occurred_at"),
    (bad(occurred_at=1764410000), "occurred_at"),
    (bad(data=[1]), "data must be an object"),
    (bad(extra=1), "extra is not a field"),
    (data(student_id=BIG), "data.student_id must be an integer id"),
    (data(student_id=0), "data.student_id"),
    (data(student_id="1"), "data.student_id"),
    (data(student_id=True), "data.student_id"),
    (data(student_id=1.5), "data.student_id"),
    (data(colour="red"), "data.colour is not a field"),
    (bad(data={"submission_id": 1, "student_id": 1}), "data.assignment_id is required"),
    (bad(type="submission.reviewed", data={"submission_id": 1, "mentor_id": 2, "score": 101,
                                           "outcome": "approved"}), "data.score"),
    (bad(type="submission.reviewed", data={"submission_id": 1, "mentor_id": 2, "score": 50,
                                           "outcome": "approved\x00"}), "data.outcome"),
    ("not an event", "must be an object"),
])
def test_a_bad_event_names_its_index_id_and_problem_and_nothing_is_written(
        client, tokens, counts, raw, words):
    before = counts()
    response = client.post(EVENTS, json={"events": [GOOD, raw]}, headers=tokens.service)
    problem = assert_problem(response, 400)
    (error,) = problem["errors"]
    assert error["index"] == 1
    assert words in error["detail"], error
    assert counts() == before


def test_the_error_echoes_a_valid_id_and_hides_an_invalid_one(client, tokens):
    response = client.post(EVENTS, headers=tokens.service, json={"events": [
        bad(id="ok-1", type="nope"), bad(id="a\x00b")]})
    errors = assert_problem(response, 400)["errors"]
    assert [(e["index"], e["id"]) for e in errors] == [(0, "ok-1"), (1, None)]


def test_partial_writes_the_valid_events_and_lists_the_rest(send, counts):
    answer = send([GOOD, bad(id="b1", type="nope"), bad(id="b2", occurred_at="soon")],
                  partial=True)
    assert answer["accepted"] == 1 and answer["duplicates"] == 0
    assert [(r["index"], r["id"]) for r in answer["rejected"]] == [(1, "b1"), (2, "b2")]
    assert counts()["analytics_submissions"] == 1


@pytest.mark.parametrize("body", [
    {}, {"events": []}, {"events": {}}, {"events": "x"}, {"events": [GOOD], "more": 1}, [GOOD],
    {"events": [GOOD] * 5001},
])
def test_bad_bodies(client, tokens, counts, body):
    before = counts()
    problem = assert_problem(client.post(EVENTS, json=body, headers=tokens.service), 400)
    assert problem.get("errors")
    assert counts() == before


def test_not_json_is_415_and_garbage_is_400(client, tokens):
    assert_problem(client.post(EVENTS, data="events", headers=tokens.service), 415)
    assert_problem(client.post(EVENTS, data="{", headers=tokens.service,
                               content_type="application/json"), 400)


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_bad_partial_is_400_and_empty_is_not_given(client, tokens, value):
    assert_problem(client.post(f"{EVENTS}?partial={value}", json={"events": [GOOD]},
                               headers=tokens.service), 400)
    response = client.post(f"{EVENTS}?partial=&other=1", json={"events": [GOOD]},
                           headers=tokens.service)
    assert response.status_code == 200 and response.json["accepted"] == 1


def test_people_may_not_ingest(client, tokens):
    assert_problem(client.post(EVENTS, json={"events": [GOOD]}), 401)
    assert_problem(client.post(EVENTS, json={"events": [GOOD]},
                               headers={"Authorization": "Bearer nope"}), 401)
    for role in ("student", "mentor", "admin"):
        assert_problem(client.post(EVENTS, json={"events": [GOOD]},
                                   headers=tokens.user(1, role)), 403)


@pytest.mark.parametrize("path", [
    "/api/analytics/students/{}/dashboard", "/api/analytics/mentors/{}/dashboard",
    "/api/analytics/cohorts/{}/dashboard"])
def test_dashboards_refuse_bad_ids_and_tokens(client, tokens, path):
    admin = tokens.user(1_000_000, "admin")
    for bad_id in (str(BIG), "0", "-1", "abc", "1.5", "%00"):
        assert_problem(client.get(path.format(bad_id), headers=admin), 404)
    assert_problem(client.get(path.format(1)), 401)
    assert_problem(client.get(path.format(1), headers={"Authorization": "Bearer x.y.z"}), 401)
    assert_problem(client.get(path.format(1), headers=tokens.service), 403)
    # The largest id is a valid one: no such student or cohort (404); any mentor id is a
    # mentor with no students yet (200, empty lists).
    expected = 200 if "mentors" in path else 404
    assert client.get(path.format(2**63 - 1) + "?x=&y=%00", headers=admin).status_code == expected
