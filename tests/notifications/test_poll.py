"""The cached poll in front of Flask answers exactly as the route does, or leaves it to Flask."""

import logging

import pytest
from prometheus_client import REGISTRY
from werkzeug.test import Client

from services.notifications.poll import CachedPoll

COUNT = "/api/notifications/unread-count"


@pytest.fixture(params=["memory", "redis"])
def cached_app(request, make_app):
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    return make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=url)


def clients(app) -> tuple[Client, Client]:
    """A client through the cached poll, and one straight to Flask behind it."""
    assert isinstance(app.wsgi_app, CachedPoll)
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
    return lines


def hits() -> float:
    return REGISTRY.get_sample_value(
        "cache_lookups_total",
        {"service": "notifications", "cache": "unread_counts", "result": "hit"}) or 0.0


def test_a_hit_is_answered_byte_for_byte_as_the_route_does(cached_app, tokens, caplog):
    notify(cached_app, tokens, [7, 8], kind="profile")
    notify(cached_app, tokens, [7])
    user = {**tokens.user(7), "X-Request-ID": "poll-1"}
    fast, flask = clients(cached_app)
    assert flask.get(COUNT, headers=user).status_code == 200  # a miss: fills the cache
    caplog.set_level(logging.INFO)
    caplog.clear()
    before = hits()

    status, headers, body = answer(fast, user)

    assert hits() == before + 1
    assert (status, headers, body) == answer(flask, user)
    assert status == "200 OK" and body == b'{"unread_count":2,"dashboard":1,"profile":1}\n'
    etag = dict(headers)["ETag"]
    not_modified = answer(fast, {**user, "If-None-Match": etag})
    assert not_modified == answer(flask, {**user, "If-None-Match": etag})
    assert not_modified[0] == "304 NOT MODIFIED" and not_modified[2] == b""
    fast_line, flask_line, *_ = request_lines(caplog)
    assert fast_line == flask_line
    assert fast_line["route"] == COUNT and fast_line["user"] == 7 and fast_line["queries"] == 0


def test_a_write_is_seen_by_the_next_poll(cached_app, tokens):
    notify(cached_app, tokens, [3])
    client, user = cached_app.test_client(), tokens.user(3)
    before = hits()
    assert [client.get(COUNT, headers=user).json["unread_count"] for _ in range(3)] == [1] * 3
    assert hits() == before + 2  # the first filled the cache
    notify(cached_app, tokens, [3], kind="profile")
    assert client.get(COUNT, headers=user).json["unread_count"] == 2


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
    ({"Authorization": "Basic abc"}, 401),
])
def test_no_or_bad_token_gets_the_routes_problem(cached_app, headers, status):
    response = cached_app.test_client().get(COUNT, headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")


def test_a_service_token_is_refused_by_the_route(cached_app, tokens):
    response = cached_app.test_client().get(COUNT, headers=tokens.service)
    assert response.status_code == 403


def test_server_timing_polls_go_through_flask(make_app, redis_url, tokens):
    app = make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=redis_url, LOG_QUERY_TIMES="on")
    notify(app, tokens, [4])
    client = app.test_client()
    for _ in range(2):  # the second is a hit
        response = client.get(COUNT, headers=tokens.user(4))
        assert response.status_code == 200
        assert "Server-Timing" in response.headers


@pytest.mark.filterwarnings("ignore:Flask-Caching")
def test_off_when_the_flag_or_the_cache_is_off(make_app):
    assert not make_app(USE_NOTIFICATION_CACHE="off").wsgi_app.enabled
    assert not make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL="null://").wsgi_app.enabled
