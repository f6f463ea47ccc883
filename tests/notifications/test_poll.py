"""The unread-count poll in front of Flask answers exactly as the route does, or leaves it
to Flask."""

import logging

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import Client

from services.notifications import create_app
from shared.front import FrontRoute
from tests.conftest import Tokens
from tests.support.servers import closed_port

COUNT = "/api/notifications/unread-count"


@pytest.fixture(params=["off", "memory", "redis"])
def poll_app(request, make_app):
    """The app with the cache off, in memory, or on Redis."""
    if request.param == "off":
        return make_app(USE_NOTIFICATION_CACHE="off")
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    return make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=url)


def clients(app) -> tuple[Client, Client]:
    """A client through the poll, and one straight to Flask behind it."""
    assert isinstance(app.wsgi_app, FrontRoute)
    return Client(app.wsgi_app), Client(app.wsgi_app.next)


def notify(app, tokens, user_ids, kind="dashboard"):
    """Create notifications through the app's own internal API (its cache sees the write)."""
    response = app.test_client().post(
        "/internal/notifications/", headers=tokens.service,
        json={"user_ids": user_ids, "kind": kind, "title": "Your review is in"})
    assert response.status_code == 201


def answer(client, headers):
    response = client.get(COUNT, headers=headers)
    return response.status, list(response.headers.items()), response.data


def request_lines(caplog) -> list[dict]:
    lines = [dict(r.fields) for r in caplog.records if r.name == "cohort.request"]
    for line in lines:
        line.pop("duration_ms")
        line.pop("db_ms")
    return lines


def hits() -> float:
    return REGISTRY.get_sample_value(
        "cache_lookups_total",
        {"service": "notifications", "cache": "unread_counts", "result": "hit"}) or 0.0


def test_answers_byte_for_byte_as_the_route_does(poll_app, tokens, caplog):
    notify(poll_app, tokens, [7, 8], kind="profile")
    notify(poll_app, tokens, [7])
    user = {**tokens.user(7), "X-Request-ID": "poll-1"}
    fast, flask = clients(poll_app)
    flask.get(COUNT, headers=user)  # with the cache on, the next polls are hits
    caplog.set_level(logging.INFO)
    caplog.clear()

    status, headers, body = answer(fast, user)

    assert (status, headers, body) == answer(flask, user)
    assert status == "200 OK" and body == b'{"unread_count":2,"dashboard":1,"profile":1}\n'
    etag = dict(headers)["ETag"]
    not_modified = answer(fast, {**user, "If-None-Match": etag})
    assert not_modified == answer(flask, {**user, "If-None-Match": etag})
    assert not_modified[0] == "304 NOT MODIFIED" and not_modified[2] == b""
    fast_200, flask_200, fast_304, flask_304 = request_lines(caplog)
    assert fast_200 == flask_200 and fast_304 == flask_304
    assert fast_200["route"] == COUNT and fast_200["user"] == 7 and fast_200["status"] == 200
    queries = 1 if poll_app.config["FLAGS"]["USE_NOTIFICATION_CACHE"].percent == 0 else 0
    assert fast_200["queries"] == queries


def test_a_miss_then_hits_and_a_write_seen_at_once(make_app, redis_url, tokens):
    app = make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=redis_url)
    notify(app, tokens, [3])
    client, user = app.test_client(), tokens.user(3)
    before = hits()
    assert [client.get(COUNT, headers=user).json["unread_count"] for _ in range(3)] == [1] * 3
    assert hits() == before + 2  # the first filled the cache
    notify(app, tokens, [3], kind="profile")
    assert client.get(COUNT, headers=user).json["unread_count"] == 2


def test_database_down_is_the_routes_problem():
    app = create_app({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port()}/x",
                      "COHORT_ENV": "test"})
    fast, flask = clients(app)
    user = {**Tokens(app.config).user(5), "X-Request-ID": "down-1"}
    status, headers, body = answer(fast, user)
    assert (status, headers, body) == answer(flask, user)
    assert status.startswith("503") and dict(headers)["X-Request-ID"] == "down-1"
    assert dict(headers)["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
    ({"Authorization": "Basic abc"}, 401),
])
def test_no_or_bad_token_gets_the_routes_problem(poll_app, headers, status):
    response = poll_app.test_client().get(COUNT, headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_a_service_token_is_refused_by_the_route(poll_app, tokens):
    assert poll_app.test_client().get(COUNT, headers=tokens.service).status_code == 403


def test_head_goes_to_flask(poll_app, tokens):
    response = poll_app.test_client().head(COUNT, headers=tokens.user(9))
    assert response.status_code == 200 and response.data == b""


def test_server_timing_polls_go_through_flask(make_app, redis_url, tokens):
    app = make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=redis_url, LOG_QUERY_TIMES="on")
    assert not app.wsgi_app.enabled
    client = app.test_client()
    for _ in range(2):  # the second is a hit
        response = client.get(COUNT, headers=tokens.user(4))
        assert response.status_code == 200
        assert "Server-Timing" in response.headers


def test_the_poll_refuses_to_start_beside_a_hook_it_would_skip(make_app, monkeypatch):
    """A hook registered before the poll wraps the app stops the app from being made."""
    from services.notifications.poll import register_unread_count_poll as original

    def audit():
        pass

    def register_after_a_hook(app):
        app.before_request(audit)
        original(app)

    monkeypatch.setattr("services.notifications.register_unread_count_poll",
                        register_after_a_hook)
    with pytest.raises(RuntimeError, match="audit"):
        make_app()


def test_a_hook_added_later_sends_polls_through_flask(make_app, caplog):
    app = make_app(USE_NOTIFICATION_CACHE="off")
    tokens = Tokens(app.config)
    seen = []
    app.before_request(lambda: seen.append("hook"))  # added after the app was made
    with caplog.at_level(logging.ERROR, logger="shared.front"):
        response = Client(app.wsgi_app).get(COUNT, headers=tokens.user(4))
    assert response.status_code == 200
    assert seen == ["hook"]  # the hook ran: the poll went through Flask
    assert "now goes through Flask" in caplog.text
