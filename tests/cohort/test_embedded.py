"""The embedded dispatcher routes like the gateway: services, health, hidden paths, static."""

import threading

import pytest
import requests
from flask import g
from werkzeug.test import Client

from gateway.embedded import STATIC_DIR, Dispatcher, make_embedded_server
from services.notifications import create_app
from shared.errors import PROBLEM_JSON
from shared.health import HEALTH_JSON
from shared.http import service_client
from tests.conftest import Tokens


@pytest.fixture
def dispatcher(service_apps):
    return Dispatcher(service_apps)


@pytest.fixture
def client(dispatcher):
    return Client(dispatcher)


@pytest.fixture
def tokens(service_apps):
    return Tokens(service_apps["notifications"].config)


def assert_problem(response, status: int):
    assert response.status_code == status
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    assert response.headers["X-Request-ID"]
    return body


def test_api_and_internal_paths_reach_the_service_unchanged(client, tokens):
    created = client.post("/internal/notifications/", headers=tokens.service, json={
        "user_ids": [41, 42], "kind": "profile", "title": "Welcome"})
    assert created.status_code == 201
    assert created.json == {"created": 2}

    count = client.get("/api/notifications/unread-count", headers=tokens.user(41))
    assert count.status_code == 200
    assert count.json == {"unread_count": 1, "dashboard": 0, "profile": 1}

    listed = client.get("/api/notifications?limit=5", headers=tokens.user(42))
    assert [n["title"] for n in listed.json["items"]] == ["Welcome"]


def test_the_request_id_is_kept_or_made(client, tokens):
    kept = client.get("/api/notifications/unread-count", headers={
        **tokens.user(1), "X-Request-ID": "trace-123"})
    assert kept.headers["X-Request-ID"] == "trace-123"

    made = client.get("/api/notifications/unread-count", headers={
        **tokens.user(1), "X-Request-ID": "not valid!"})
    assert made.headers["X-Request-ID"] not in ("", "not valid!")
    assert len(made.headers["X-Request-ID"]) == 32

    own = client.get("/metrics", headers={"X-Request-ID": "trace-456"})
    assert own.headers["X-Request-ID"] == "trace-456"
    assert own.json["request_id"] == "trace-456"


@pytest.mark.parametrize("path", ["/health/notifications/ready/", "/health/notifications/ready",
                                  "/health/notifications/live/"])
def test_service_health_is_rewritten_to_the_services_own_path(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == HEALTH_JSON
    assert response.json["status"] in ("pass", "warn")


def test_service_health_report_names_the_service(client):
    for path in ("/health/notifications/", "/health/notifications"):
        body = client.get(path).json
        assert body["serviceId"] == "notifications"
        assert "database:responseTime" in body["checks"]


@pytest.mark.parametrize("path", ["/health/gateway", "/health/gateway/",
                                  "/health/gateway/live/", "/health/gateway/ready"])
def test_the_gateway_answers_its_own_health(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == HEALTH_JSON
    assert response.json["status"] == "pass"
    assert response.json["serviceId"] == "gateway"


def test_services_json_lists_the_services(client):
    assert client.get("/services.json").json == {"services": ["notifications"]}


@pytest.mark.parametrize("path", [
    "/metrics", "/metrics/", "/api/unknown/x", "/internal/unknown/", "/health/unknown/",
    "/health/gateway/other", "/api/notificationsX", "/api/", "/no-such-page.html",
])
def test_hidden_and_unknown_paths_are_404_problem_json(client, path):
    body = assert_problem(client.get(path), 404)
    assert body["instance"] == path


def test_an_unknown_route_inside_a_service_is_its_own_404(client, tokens):
    assert_problem(client.get("/api/notifications/nope/deeper", headers=tokens.user(1)), 404)


@pytest.mark.skipif(not (STATIC_DIR / "index.html").exists(), reason="no health page yet")
def test_root_serves_the_health_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b"<html" in response.data.lower()


def test_without_static_files_root_is_404_problem_json(service_apps, tmp_path):
    client = Client(Dispatcher(service_apps, static_dir=tmp_path))
    assert_problem(client.get("/"), 404)
    (tmp_path / "index.html").write_text("<html>health</html>")
    assert client.get("/").data == b"<html>health</html>"
    assert_problem(client.get("/../conftest.py"), 404)


def test_static_paths_take_only_get(client):
    body = assert_problem(client.post("/"), 405)
    assert body["instance"] == "/"


def test_services_call_each_other_through_the_embedded_url(service_apps, tokens):
    """Over real HTTP: a service's client, pointed at the dispatcher, reaches /internal/."""
    dispatcher = Dispatcher()
    server = make_embedded_server("127.0.0.1", 0, dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = service_apps["notifications"].config["DATABASE_URL"]
        app = create_app({"DATABASE_URL": url, "COHORT_ENV": "test",
                          "SERVICES_URL": f"http://127.0.0.1:{server.port}"})
        dispatcher.apps["notifications"] = app
        with app.test_request_context("/", headers={"X-Request-ID": "from-a-service"}):
            g.request_id = "from-a-service"
            response = service_client().post("/internal/notifications/", json={
                "user_ids": [77], "kind": "dashboard", "title": "Season 2 results"})
        assert response.status_code == 201
        assert response.headers["X-Request-ID"] == "from-a-service"
        count = Client(dispatcher).get("/api/notifications/unread-count",
                                       headers=tokens.user(77))
        assert count.json["unread_count"] == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def embedded_server(dispatcher):
    """The dispatcher on a real werkzeug server (chunked bodies are dechunked there)."""
    server = make_embedded_server("127.0.0.1", 0, dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def chunks(size: int):
    """A body of `size` bytes sent without a length, as chunked transfer encoding."""
    for start in range(0, size, 65536):
        yield b"x" * min(65536, size - start)


@pytest.mark.parametrize("path", ["/api/notifications/read-all", "/internal/notifications/"])
def test_a_body_over_the_limit_is_413_on_every_route_as_nginx_does(client, tokens, path,
                                                                     embedded_server,
                                                                     service_apps):
    limit = service_apps["notifications"].config["MAX_BODY_BYTES"]
    headers = {**tokens.user(5), "Content-Type": "application/json"}
    body = assert_problem(client.post(path, headers=headers, data=b" " * (limit + 1)), 413)
    assert body["instance"] == path and body["request_id"]


    chunked = requests.post(embedded_server + path, headers=headers, data=chunks(2 * limit),
                            timeout=30)
    assert chunked.status_code == 413
    assert chunked.headers["Content-Type"] == PROBLEM_JSON


def test_a_chunked_body_within_the_limit_reaches_the_service(tokens, embedded_server):

    body = b'{"user_ids": [61], "kind": "profile", "title": "Chunked"}'
    response = requests.post(embedded_server + "/internal/notifications/",
                             headers={**tokens.service, "Content-Type": "application/json"},
                             data=iter([body[:10], body[10:]]), timeout=30)
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 1}


def test_a_streaming_service_gets_its_body_as_it_comes_cut_off_past_the_limit(
        monkeypatch, tmp_path):
    """Like nginx with request buffering off: no copy in memory, a 413 once past the limit."""
    from services import SERVICES
    from tests.support import throwaway
    from tests.support.databases import migrate

    info = throwaway.INFO.__class__(**{**throwaway.INFO.__dict__, "stream_bodies": True})
    monkeypatch.setitem(SERVICES, "throwaway", info)
    url = f"sqlite:///{tmp_path / 'throwaway.db'}"
    migrate(throwaway.create_app, url)
    app = throwaway.create_app({"DATABASE_URL": url, "COHORT_ENV": "test"})
    server = make_embedded_server("127.0.0.1", 0, Dispatcher({"throwaway": app}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.port}/internal/throwaway/echoes"
        headers = {**Tokens(app.config).service, "Content-Type": "application/json"}
        small = requests.post(endpoint, headers=headers, data=iter([b'{"text": ', b'"hi"}']),
                              timeout=30)
        assert small.status_code == 201, small.text
        big = requests.post(endpoint, headers=headers, data=chunks(3 * info.max_body),
                            timeout=30)
        assert big.status_code == 413
        assert big.headers["Content-Type"] == PROBLEM_JSON
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
