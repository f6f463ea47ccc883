"""The service-to-service client against a real local HTTP server."""

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests


class Upstream(ThreadingHTTPServer):
    """Another service: records what it was sent, and misbehaves on request."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.seen: list[tuple[str, str, dict, float]] = []
        self.hits: Counter = Counter()
        self.failures_before_success = 2
        self.release = threading.Event()  # lets slow handlers go at teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def saw(self, method: str, path: str) -> int:
        return sum(1 for m, p, _, _ in self.seen if (m, p) == (method, path))


class UpstreamHandler(BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the timeout tests' client stopped waiting
            self.wfile.write(raw)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, dict(self.headers), time.monotonic()))
        self.server.hits[self.path] += 1
        if self.path == "/slow":
            self.server.release.wait(2)
            self._answer(200, {"late": True})
        elif self.path == "/unavailable":
            self._answer(503, {"down": True})
        elif self.path == "/maintenance":
            self._answer(503, {"down": True}, {"Retry-After": "3600"})
        elif self.path == "/flaky":
            ok = self.server.hits[self.path] > self.server.failures_before_success
            self._answer(200 if ok else 503, {"attempt": self.server.hits[self.path]})
        else:
            self._answer(200, {"method": self.command, "headers": dict(self.headers)})

    do_GET = do_POST = do_PUT = do_DELETE = _handle


@pytest.fixture
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def client_for(make_app):
    def make(base_url: str, **overrides):
        app = make_app(SERVICES_URL=base_url, **overrides)
        return app, app.extensions["cohort.http"]

    return make


def test_token_and_request_id_are_passed_on(client_for, upstream):
    app, _ = client_for(upstream.url)
    response = app.test_client().get("/api/probe/relay", headers={"X-Request-ID": "relay-7"})
    assert response.status_code == 200
    seen = response.get_json()["upstream"]["headers"]
    assert seen["Authorization"] == f"Bearer {app.config['SERVICE_TOKEN']}"
    assert seen["X-Request-ID"] == "relay-7"


def test_a_made_request_id_is_passed_on_too(client_for, upstream):
    app, _ = client_for(upstream.url, SERVICE_TOKEN="token-of-the-services")
    response = app.test_client().get("/api/probe/relay")
    seen = response.get_json()["upstream"]["headers"]
    assert seen["X-Request-ID"] == response.headers["X-Request-ID"]
    assert seen["Authorization"] == "Bearer token-of-the-services"


def test_outside_a_request_no_request_id_is_sent(client_for, upstream):
    _, client = client_for(upstream.url)
    seen = client.get("/echo").json()["headers"]
    assert "X-Request-ID" not in seen
    assert seen["Authorization"].startswith("Bearer ")


def test_get_is_retried_on_503_until_it_succeeds(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_RETRIES="2")
    response = client.get("/flaky")
    assert response.status_code == 200
    assert response.json() == {"attempt": 3}
    assert upstream.saw("GET", "/flaky") == 3
    # Backoff: the second retry waited (urllib3 sleeps 0.1 * 2 s before it).
    times = [at for m, p, _, at in upstream.seen if p == "/flaky"]
    assert times[2] - times[1] >= 0.15


def test_retries_stop_at_http_retries(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_RETRIES="1")
    response = client.get("/unavailable")
    assert response.status_code == 503
    assert upstream.saw("GET", "/unavailable") == 2


def test_a_long_retry_after_does_not_hold_the_caller(client_for, upstream):
    """A 503 asking to come back in an hour: retried on our short backoff, not slept on."""
    _, client = client_for(upstream.url, HTTP_RETRIES="2")
    answers = []
    caller = threading.Thread(target=lambda: answers.append(client.get("/maintenance")),
                              daemon=True)
    caller.start()
    caller.join(timeout=30)  # a guard against a hang, not a measurement
    assert not caller.is_alive(), "the client slept on Retry-After"
    assert answers[0].status_code == 503
    assert upstream.saw("GET", "/maintenance") == 3


def test_no_retries_when_http_retries_is_zero(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_RETRIES="0")
    assert client.get("/flaky").status_code == 503
    assert upstream.saw("GET", "/flaky") == 1


def test_put_and_delete_are_retried(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_RETRIES="2")
    assert client.request("PUT", "/unavailable").status_code == 503
    assert client.request("DELETE", "/unavailable").status_code == 503
    assert upstream.saw("PUT", "/unavailable") == 3
    assert upstream.saw("DELETE", "/unavailable") == 3


def test_post_is_never_retried(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_RETRIES="3")
    response = client.post("/unavailable", json={"x": 1})
    assert response.status_code == 503
    assert upstream.saw("POST", "/unavailable") == 1
    assert client.post("/flaky", json={}).status_code == 503
    assert upstream.saw("POST", "/flaky") == 1


def test_read_timeout_is_honoured(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_READ_TIMEOUT="0.2", HTTP_RETRIES="0")
    # urllib3 wraps a read timeout of a retryable call, so requests calls it ConnectionError.
    with pytest.raises(requests.ConnectionError, match="Read timed out"):
        client.get("/slow")
    assert upstream.saw("GET", "/slow") == 1


def test_post_read_timeout_is_not_retried(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_READ_TIMEOUT="0.2", HTTP_RETRIES="2")
    with pytest.raises(requests.ReadTimeout):
        client.post("/slow", json={})
    assert upstream.saw("POST", "/slow") == 1


def test_get_read_timeout_is_retried_then_raises(client_for, upstream):
    _, client = client_for(upstream.url, HTTP_READ_TIMEOUT="0.2", HTTP_RETRIES="1")
    with pytest.raises(requests.ConnectionError, match="Read timed out"):
        client.get("/slow")
    assert upstream.saw("GET", "/slow") == 2


def test_connect_timeout_is_honoured(client_for, unanswering_port):
    _, client = client_for(f"http://127.0.0.1:{unanswering_port}",
                           HTTP_CONNECT_TIMEOUT="0.2", HTTP_RETRIES="0")
    with pytest.raises(requests.ConnectTimeout):
        client.get("/anything")


def test_refused_connection_raises(client_for):
    from tests.support.servers import closed_port

    _, client = client_for(f"http://127.0.0.1:{closed_port()}", HTTP_RETRIES="1")
    with pytest.raises(requests.ConnectionError):
        client.get("/anything")
