"""The SPA's calls, the refused paths, the request id and an outage, through the real gateway."""

import json
import re
import time

import pytest
import redis
import requests

from services.notifications import create_app
from tests.gateway.support import assert_problem
from tests.stack.conftest import new_user, notify, running_stack, stack_env, tokens
from tests.support.databases import migrate, temporary_database
from tests.support.servers import REDIS_URL, require_nginx, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_postgres()
    require_redis()
    require_nginx()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with temporary_database("postgresql", tmp_path_factory, "stack") as url:
        migrate(create_app, url)
        env = stack_env(NOTIFICATIONS_DATABASE_URL=url, CACHE_URL=REDIS_URL,
                        USE_NOTIFICATION_CACHE="on")
        with running_stack(tmp_path_factory.mktemp("stack"), env) as stack:
            yield stack
    client.flushdb()
    client.close()


def get(stack, path, user_id, **kwargs):
    headers = {**tokens.user(user_id), **kwargs.pop("headers", {})}
    return requests.get(stack.base_url + path, headers=headers, timeout=10, **kwargs)


def post(stack, path, user_id):
    return requests.post(stack.base_url + path, headers=tokens.user(user_id), timeout=10)


def test_unread_count_and_the_304_path(stack):
    user = new_user()
    notify(stack, user, 3)
    notify(stack, user, 1, kind="profile")
    first = get(stack, "/api/notifications/unread-count", user)
    assert first.status_code == 200
    assert first.json() == {"unread_count": 4, "dashboard": 3, "profile": 1}
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert int(first.headers["X-Poll-Interval"]) > 0
    etag = first.headers["ETag"]
    again = get(stack, "/api/notifications/unread-count", user,
                headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag

    notify(stack, user, 1, kind="profile")  # a write the next poll must see
    changed = get(stack, "/api/notifications/unread-count", user,
                  headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["profile"] == 2


def test_list_pages_and_mark_read(stack):
    user = new_user()
    notify(stack, user, 5)
    page = get(stack, "/api/notifications?limit=3", user)
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 3 and body["next_cursor"]
    rest = get(stack, "/api/notifications", user,
               params={"limit": 3, "cursor": body["next_cursor"]}).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [item["id"] for item in body["items"] + rest["items"]]
    assert len(set(ids)) == 5

    read = post(stack, f"/api/notifications/{ids[0]}/read", user)
    assert read.status_code == 200 and read.json()["unread_count"] == 4
    assert get(stack, "/api/notifications/unread-count", user).json()["unread_count"] == 4
    unread = get(stack, "/api/notifications?unread=true&limit=100", user).json()["items"]
    assert ids[0] not in [item["id"] for item in unread]

    # Another user's notification is not found, as problem details from the service.
    assert_problem(post(stack, f"/api/notifications/{ids[1]}/read", new_user()), 404)

    cleared = post(stack, "/api/notifications/read-all", user)
    assert cleared.status_code == 200 and cleared.json()["unread_count"] == 0
    assert get(stack, "/api/notifications/unread-count", user).json()["unread_count"] == 0


def test_large_lists_are_gzipped(stack):
    user = new_user()
    notify(stack, user, 20)
    response = get(stack, "/api/notifications?limit=20", user,
                   headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and len(response.json()["items"]) == 20
    assert response.headers["Content-Encoding"] == "gzip"


def test_internal_and_metrics_are_refused_outside(stack):
    create = requests.post(f"{stack.base_url}/internal/notifications/", headers=tokens.service,
                           json={"user_ids": [new_user()], "kind": "dashboard", "title": "x"},
                           timeout=10)
    assert_problem(create, 404)
    assert_problem(requests.get(f"{stack.base_url}/metrics", timeout=10), 404)
    assert_problem(requests.get(f"{stack.base_url}/metrics/notifications", timeout=10), 404)
    # The internal listener routes both: the create works with the service token...
    user = new_user()
    notify(stack, user, 1)
    assert get(stack, "/api/notifications/unread-count", user).json()["unread_count"] == 1
    # ...but not with a user's token (the service decides, with problem details).
    as_user = requests.post(f"{stack.internal_url}/internal/notifications/",
                            headers=tokens.user(user), timeout=10,
                            json={"user_ids": [user], "kind": "dashboard", "title": "x"})
    assert_problem(as_user, 403)
    metrics = requests.get(f"{stack.internal_url}/metrics/notifications", timeout=10)
    assert metrics.status_code == 200
    assert "http_request_duration_seconds" in metrics.text


def log_line(stack, request_id: str, timeout: float = 10) -> dict:
    """The service's JSON log line for `request_id`, once its worker has written it."""
    deadline = time.monotonic() + timeout
    while True:
        for line in stack.log_path("notifications").read_text().splitlines():
            if request_id in line and line.startswith("{"):
                entry = json.loads(line)
                if entry.get("request_id") == request_id:
                    return entry
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line with request id {request_id}")
        time.sleep(0.1)


def test_request_id_comes_back_and_is_logged(stack):
    user = new_user()
    sent = get(stack, "/api/notifications/unread-count", user,
               headers={"X-Request-ID": f"spa-{user}-poll"})
    assert sent.headers["X-Request-ID"] == f"spa-{user}-poll"
    entry = log_line(stack, f"spa-{user}-poll")
    assert entry["user"] == user and entry["status"] == 200
    assert entry["route"] == "/api/notifications/unread-count"

    made = get(stack, "/api/notifications/unread-count", user)
    request_id = made.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert log_line(stack, request_id)["user"] == user


def test_unknown_path_and_oversized_body_are_problem_json(stack):
    assert_problem(requests.get(f"{stack.base_url}/no/such/page", timeout=10), 404)
    too_big = requests.post(f"{stack.base_url}/api/notifications/read-all",
                            headers={**tokens.user(new_user()),
                                     "Content-Type": "application/json"},
                            data=b"[" + b"1," * (1 << 20) + b"1]", timeout=30)
    assert_problem(too_big, 413)


def test_status_page_is_served(stack):
    page = requests.get(stack.base_url + "/", timeout=10)
    assert page.status_code == 200 and "<title>" in page.text
    health = requests.get(stack.base_url + "/health/notifications/", timeout=10).json()
    assert health["flags"]["USE_NOTIFICATION_CACHE"] == "on"
    assert health["status"] == "pass"


def test_a_stopped_service_answers_problem_json_and_recovers(stack):
    user = new_user()
    notify(stack, user, 2)
    nginx_pid = stack.pids["nginx"]
    stack.stop_service("notifications")
    try:
        down = get(stack, "/api/notifications/unread-count", user)
        assert down.status_code in (502, 503)
        assert_problem(down, down.status_code)
        assert requests.get(f"{stack.base_url}/health/notifications/ready/",
                            timeout=10).status_code in (502, 503)
        # The gateway itself keeps answering.
        gateway = requests.get(f"{stack.base_url}/health/gateway/", timeout=10)
        assert gateway.status_code == 200 and gateway.json()["status"] == "pass"
        assert requests.get(stack.base_url + "/", timeout=10).status_code == 200
    finally:
        stack.start_service("notifications")
    stack.wait_ready()
    assert stack.pids["nginx"] == nginx_pid  # recovered without touching nginx
    back = get(stack, "/api/notifications/unread-count", user)
    assert back.status_code == 200 and back.json()["unread_count"] == 2


@pytest.mark.parametrize(("request_bytes", "status", "said"), [
    # Past gunicorn's request line limit (4094), within nginx's (8 KB): gunicorn answers.
    (b"GET /api/notifications/" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414,
     "Request Line is too large"),
    # More header fields than gunicorn reads (100); nginx passes them on.
    (b"GET /api/notifications HTTP/1.1\r\nHost: x\r\n"
     + b"".join(b"X-H%d: 1\r\n" % i for i in range(110)) + b"\r\n", 431, "headers"),
])
def test_gunicorns_own_errors_through_the_gateway_are_problem_json(stack, request_bytes,
                                                                    status, said):
    from tests.gateway.support import assert_raw_problem, raw_request

    problem = assert_raw_problem(raw_request(stack.port, request_bytes), status)
    assert said.lower() in problem["detail"].lower()
