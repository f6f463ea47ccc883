"""Request ids, one JSON log line per request, LOG_QUERY_TIMES and slow queries."""

import json
import logging
import re

import pytest

from shared.auth import mint_token
from shared.observability import JsonFormatter

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
SERVER_TIMING = re.compile(r'^db;dur=[\d.]+;desc="(\d+) queries", app;dur=[\d.]+$')


def json_lines(caplog, logger: str) -> list[dict]:
    """The records of `logger`, as the JSON lines the service prints."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def test_valid_request_id_is_taken_and_echoed(app, logs):
    response = app.test_client().get("/health/live/", headers={"X-Request-ID": "edge-42.a:b_c"})
    assert response.headers["X-Request-ID"] == "edge-42.a:b_c"
    (line,) = json_lines(logs, "cohort.request")
    assert line["request_id"] == "edge-42.a:b_c"


@pytest.mark.parametrize("incoming", [None, "", "x" * 500, "two words", "quote\"d", "a/b",
                                      "é"])
def test_missing_or_invalid_request_id_is_replaced(app, logs, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = app.test_client().get("/health/live/", headers=headers)
    made = response.headers["X-Request-ID"]
    assert HEX_ID.match(made)
    (line,) = json_lines(logs, "cohort.request")
    assert line["request_id"] == made


def test_each_request_gets_its_own_id(app):
    client = app.test_client()
    ids = {client.get("/health/live/").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_errors_carry_the_request_id_too(app):
    client = app.test_client()
    for path in ("/nowhere", "/api/probe/me", "/api/probe/boom", "/api/probe/limited"):
        response = client.get(path, headers={"X-Request-ID": "err-1"})
        assert response.status_code >= 400
        assert response.headers["X-Request-ID"] == "err-1"


def test_one_json_line_per_request(db_app, db_tokens, logs):
    client = db_app.test_client()
    client.get("/api/probe/items", headers=db_tokens.user(5))  # the engine's first connect
    logs.clear()
    response = client.get("/api/probe/items", headers={**db_tokens.user(5, "mentor"),
                                                       "X-Request-ID": "req-1"})
    assert response.status_code == 200
    lines = json_lines(logs, "cohort.request")
    assert len(lines) == 1
    (line,) = lines
    assert line["request_id"] == "req-1"
    assert line["user"] == 5
    assert line["role"] == "mentor"
    assert line["route"] == "/api/probe/items"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["service"] == "probe"
    assert line["duration_ms"] >= 0
    assert line["queries"] == 2
    assert line["db_ms"] >= 0
    assert line["level"] == "info" and line["ts"].endswith("Z")


def test_log_lines_of_failed_and_service_requests(app, tokens, logs):
    client = app.test_client()
    client.get("/api/probe/me")
    client.get("/internal/probe/ping", headers=tokens.service)
    client.get("/nowhere/42")
    client.get("/api/probe/boom")
    lines = json_lines(logs, "cohort.request")
    assert [(x["route"], x["status"], x["user"], x["role"]) for x in lines] == [
        ("/api/probe/me", 401, None, None),
        ("/internal/probe/ping", 200, None, "service"),
        ("<unmatched>", 404, None, None),
        ("/api/probe/boom", 500, None, None),
    ]
    assert lines[2]["path"] == "/nowhere/42"


def test_route_is_the_rule_not_the_path(app, logs):
    client = app.test_client()
    client.get("/api/probe/cached/a")
    client.get("/api/probe/cached/b")
    assert {line["route"] for line in json_lines(logs, "cohort.request")} == {
        "/api/probe/cached/<key>"}


def test_query_times_off_sends_no_server_timing(db_app, db_tokens, logs):
    response = db_app.test_client().get("/api/probe/items", headers=db_tokens.user(1))
    assert "Server-Timing" not in response.headers
    assert not json_lines(logs, "cohort.slow_query")


def test_query_times_on_sends_server_timing(make_db_app, logs):
    app = make_db_app(LOG_QUERY_TIMES="on")
    token = {"Authorization": f"Bearer {mint_token(app.config, 1, 'student')}"}
    client = app.test_client()
    client.get("/api/probe/items", headers=token)
    response = client.get("/api/probe/items", headers=token)
    match = SERVER_TIMING.match(response.headers["Server-Timing"])
    assert match and match.group(1) == "2"
    live = client.get("/health/live/").headers["Server-Timing"]
    assert SERVER_TIMING.match(live).group(1) == "0"
    assert not json_lines(logs, "cohort.slow_query")  # none slower than 100 ms


def test_slow_query_ms_zero_logs_every_query(make_db_app, logs):
    app = make_db_app(LOG_QUERY_TIMES="true", SLOW_QUERY_MS="0")
    token = {"Authorization": f"Bearer {mint_token(app.config, 1, 'student')}",
             "X-Request-ID": "slow-1"}
    client = app.test_client()
    client.get("/api/probe/items", headers=token)
    logs.clear()
    client.get("/api/probe/items", headers=token)
    slow = json_lines(logs, "cohort.slow_query")
    assert len(slow) == 2
    for line in slow:
        assert line["msg"] == "slow query"
        assert line["level"] == "warning"
        assert line["duration_ms"] >= 0
        assert "items" in line["statement"]
        assert line["request_id"] == "slow-1"


def test_partial_rollout_of_query_times_is_off(make_db_app):
    """Server-Timing is per process, not per user: anything short of on is off."""
    app = make_db_app(LOG_QUERY_TIMES="50%")
    assert "Server-Timing" not in app.test_client().get("/health/live/").headers
