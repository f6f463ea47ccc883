"""Every error is RFC 9457 problem details, and a 500 leaks nothing."""

import json
import logging

import pytest
import requests
from sqlalchemy import func, select

from shared.auth import mint_token
from shared.config import DEV_JWT_SECRET
from tests.shared.service_app import Item

PROBLEM_JSON = "application/problem+json"


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    assert body["instance"] == response.request.path
    return body


def item_count(app) -> int:
    with app.app_context():
        return app.extensions["sqlalchemy"].session.scalar(select(func.count(Item.id)))


def test_valid_body_writes(db_app, db_tokens):
    client = db_app.test_client()
    response = client.post("/api/probe/items", json={"name": "a"}, headers=db_tokens.user(1))
    assert response.status_code == 201
    assert item_count(db_app) == 1


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name"}),
    ({"name": ""}, {"name"}),
    ({"name": "x" * 51}, {"name"}),
    ({"name": "a", "size": 11}, {"size"}),
    ({"name": "a", "colour": "red"}, {"colour"}),
    ({"name": 5, "size": "big"}, {"name", "size"}),
])
def test_invalid_fields_are_400_with_errors_and_write_nothing(db_app, db_tokens, body, fields):
    response = db_app.test_client().post("/api/probe/items", json=body,
                                         headers=db_tokens.user(1))
    answer = problem(response, 400)
    assert answer["type"] == "/problems/validation-error"
    assert set(answer["errors"]) == fields
    assert all(isinstance(messages, list) for messages in answer["errors"].values())
    assert item_count(db_app) == 0


def test_a_body_that_is_not_an_object_is_400(app, tokens):
    response = app.test_client().post("/api/probe/items", json=[1, 2], headers=tokens.user(1))
    assert "errors" in problem(response, 400)


def test_malformed_json_is_400(app, tokens):
    response = app.test_client().post("/api/probe/items", data="{name: ",
                                      content_type="application/json", headers=tokens.user(1))
    assert problem(response, 400)["title"] == "Malformed JSON"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          None])
def test_wrong_content_type_is_415(app, tokens, content_type):
    response = app.test_client().post("/api/probe/items", data='{"name": "a"}',
                                      content_type=content_type, headers=tokens.user(1))
    problem(response, 415)


def test_body_over_max_body_bytes_is_413(make_app, tokens):
    app = make_app(MAX_BODY_BYTES="2048")
    body = json.dumps({"name": "a", "pad": "x" * 4096})
    response = app.test_client().post("/api/probe/items", data=body,
                                      content_type="application/json", headers=tokens.user(1))
    problem(response, 413)
    small = app.test_client().post("/api/probe/items", json={"name": "a"},
                                   headers=tokens.user(1))
    assert small.status_code == 201


def test_unknown_path_is_404(app):
    assert problem(app.test_client().get("/api/probe/nothing-here"), 404)


@pytest.mark.parametrize("method", ["get", "delete"])
def test_an_id_past_a_bigint_is_404_whatever_the_method(app, method):
    """Two rules share the path: werkzeug answered the second one's method with 405 when the
    id converter refused the value."""
    app.add_url_rule("/api/probe/things/<id:thing>", "thing", lambda thing: {}, methods=["GET"])
    app.add_url_rule("/api/probe/things/<id:thing>", "drop", lambda thing: {},
                     methods=["DELETE"])
    client = app.test_client()
    assert getattr(client, method)("/api/probe/things/9223372036854775807").status_code == 200
    answer = getattr(client, method)("/api/probe/things/9223372036854775808")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_wrong_method_is_405_with_allow(app):
    response = app.test_client().delete("/api/probe/items")
    problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_too_many_requests_is_429_with_retry_after(app):
    response = app.test_client().get("/api/probe/limited")
    problem(response, 429)
    assert response.headers["Retry-After"] == "7"


def test_unexpected_exception_is_500_without_leaking(app, caplog):
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/probe/boom")
    body = problem(response, 500)
    text = response.get_data(as_text=True)
    assert "hunter2" not in text
    assert "Traceback" not in text and "RuntimeError" not in text and ".py" not in text
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
    # The operator gets the whole story in the log, with the request it belongs to.
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and logged[0].exc_info and "hunter2" in str(logged[0].exc_info[1])
    assert response.headers["X-Request-ID"]


def test_problem_raised_by_a_route_keeps_its_fields(app):
    body = problem(app.test_client().get("/api/probe/cursor?cursor=nope"), 400)
    assert body["title"] == "Invalid cursor"


def test_body_limit_on_a_real_server(gunicorn, sqlite_url):
    """gunicorn hands over chunked bodies with no length: the limit must hold there too."""
    server = gunicorn(DATABASE_URL=sqlite_url, MAX_BODY_BYTES="2048")
    token = mint_token({"JWT_SECRET": DEV_JWT_SECRET}, 1, "student")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{server.base}/api/probe/items"
    big = json.dumps({"name": "a", "pad": "x" * 10_000}).encode()

    def chunks(body: bytes):
        yield from (body[i:i + 1000] for i in range(0, len(body), 1000))

    for data in (big, chunks(big)):
        response = requests.post(url, data=data, headers=headers, timeout=10)
        assert response.status_code == 413
        assert response.headers["Content-Type"] == PROBLEM_JSON
    small = json.dumps({"name": "chunked"}).encode()
    assert requests.post(url, data=chunks(small), headers=headers, timeout=10).status_code == 201
