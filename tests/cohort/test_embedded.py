"""The embedded dispatcher routes like the gateway: services, health, hidden paths, static."""

import threading

import pytest
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
