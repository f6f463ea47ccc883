"""The gateway's own answers, with nginx running and no service behind it."""

import http.client
import re
import socket

import pytest
import requests

from cohort.stack import Stack
from services import SERVICES
from tests.gateway.support import assert_problem, free_ports
from tests.support.servers import require_nginx

pytestmark = pytest.mark.nginx


def start_gateway(workdir, service_ports=None, **env) -> Stack:
    """nginx alone, on free ports, its upstreams pointing at ports nothing listens on."""
    require_nginx()
    port, internal, *ports = free_ports(2 + len(SERVICES))
    stack = Stack(workdir, env, port=port, internal_port=internal, services=[],
                  service_ports=service_ports or dict(zip(SERVICES, ports, strict=True)))
    stack.__enter__()
    return stack


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    stack = start_gateway(tmp_path_factory.mktemp("gateway"))
    yield stack
    stack.stop()


@pytest.mark.parametrize("path", ["/health/gateway", "/health/gateway/", "/health/gateway/live/",
                                  "/health/gateway/ready/", "/health/gateway/ready"])
def test_gateway_health(gateway, path):
    for base in (gateway.base_url, gateway.internal_url):
        response = requests.get(base + path, timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/health+json"
        assert response.json()["status"] == "pass"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/nope"), ("GET", "/api/unknown-service/x"), ("GET", "/metrics"),
    ("POST", "/internal/notifications/"), ("GET", "/internal/notifications"),
    ("GET", "/metrics/notifications"), ("GET", "/health/unknown/"),
])
def test_unknown_and_refused_paths_are_problem_404(gateway, method, path):
    response = requests.request(method, gateway.base_url + path, timeout=5)
    body = assert_problem(response, 404)
    assert body["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize("path", [
    "/api/notifications/../../internal/notifications/",
    "/api/notifications/%2e%2e/%2e%2e/internal/notifications/",
    "/api/notifications/..%2f..%2finternal/notifications/",
    "/health/notifications/../../metrics", "/health/notifications/%2e%2e/metrics",
])
def test_dot_segments_do_not_reach_refused_paths(gateway, path):
    # Sent as is (requests would resolve the dots): 404 is refused, 502 would be routed.
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    try:
        connection.request("GET", path)
        assert connection.getresponse().status == 404
    finally:
        connection.close()


def test_served_files_locations_are_not_reachable_directly(gateway):
    for info in SERVICES.values():
        if info.files:
            for base in (gateway.base_url, gateway.internal_url):
                assert_problem(requests.get(f"{base}{info.files.location}x/y", timeout=5), 404)


def test_internal_listener_routes_internal_paths_only(gateway):
    # Routed to the (stopped) service, not refused: the answer is 502, not 404.
    for path in ("/internal/notifications/", "/internal/notifications", "/api/notifications",
                 "/metrics/notifications"):
        assert_problem(requests.post(gateway.internal_url + path, timeout=5)
                       if path.startswith("/internal") else
                       requests.get(gateway.internal_url + path, timeout=5), 502)
    assert_problem(requests.get(gateway.internal_url + "/", timeout=5), 404)


@pytest.mark.parametrize("path", ["/api/notifications/unread-count", "/api/notifications",
                                  "/health/notifications/ready/", "/health/notifications"])
def test_a_stopped_service_answers_502_problem(gateway, path):
    response = requests.get(gateway.base_url + path, timeout=5)
    assert_problem(response, 502)


def test_request_id_is_kept_or_made(gateway):
    kept = requests.get(gateway.base_url + "/nope", headers={"X-Request-ID": "trace-42.a:b"},
                        timeout=5)
    assert kept.headers["X-Request-ID"] == "trace-42.a:b"
    assert kept.json()["request_id"] == "trace-42.a:b"
    # An id the services would refuse (space, quote) is replaced, never echoed into JSON.
    replaced = requests.get(gateway.base_url + "/nope", headers={"X-Request-ID": 'a "b'},
                            timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    assert replaced.json()["request_id"] == replaced.headers["X-Request-ID"]


def test_oversized_body_is_413_problem(gateway):
    limit = 1 << 20  # notifications' max_body, 1m
    response = requests.post(gateway.base_url + "/api/notifications/read-all",
                             data=b"x" * (limit + 1), timeout=10)
    assert_problem(response, 413)


def test_status_page_and_service_list(gateway):
    page = requests.get(gateway.base_url + "/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/app.js" in page.text
    script = requests.get(gateway.base_url + "/app.js", timeout=5)
    assert script.status_code == 200 and "/health/" in script.text
    listed = requests.get(gateway.base_url + "/services.json", timeout=5)
    assert listed.json() == {"services": list(SERVICES)}


def test_rate_limit_answers_429_problem(tmp_path):
    stack = start_gateway(tmp_path, GATEWAY_RATE="1r/m", GATEWAY_BURST="0")
    try:
        answers = [requests.get(stack.base_url + "/api/notifications", timeout=5)
                   for _ in range(3)]
        assert answers[0].status_code == 502  # let through, to a stopped service
        for limited in answers[1:]:
            assert_problem(limited, 429)
            assert limited.headers["Retry-After"] == "1"
        # Only /api/ is limited: health and the internal listener still answer.
        assert requests.get(stack.base_url + "/health/gateway/", timeout=5).status_code == 200
        assert requests.get(stack.internal_url + "/api/notifications",
                            timeout=5).status_code == 502
    finally:
        stack.stop()


def test_a_service_that_does_not_answer_is_504_problem(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        stack = start_gateway(tmp_path, {"notifications": silent.getsockname()[1]},
                              GATEWAY_READ_TIMEOUT="1s")
        try:
            response = requests.get(stack.base_url + "/api/notifications", timeout=30)
            assert_problem(response, 504)
        finally:
            stack.stop()


MALFORMED = [
    (b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /../x HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"POST /api/notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET /api/notifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + b"a" * 9000
     + b"\r\n\r\n", 400),
    (b"POST /api/notifications HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
     b"Content-Length: 6\r\n\r\n", 400),
    (b'GET /x"y HTTP/1.1\r\nHost: x\r\n\r\n', 404),
]


@pytest.mark.parametrize(("request_bytes", "status"), MALFORMED,
                         ids=[m[0][:30].decode("latin-1") for m in MALFORMED])
def test_every_answer_to_a_malformed_request_is_problem_json(gateway, request_bytes, status):
    from tests.gateway.support import assert_raw_problem, raw_request

    for port in (gateway.port, gateway.internal_port):
        answer = raw_request(port, request_bytes)
        problem = assert_raw_problem(answer, status)
        assert problem["request_id"] == answer[1]["x-request-id"]


def test_a_problem_names_the_path_and_keeps_the_request_id(gateway):
    from tests.gateway.support import assert_raw_problem, raw_request

    answer = raw_request(gateway.port, b"GET /nope?x=1 HTTP/1.1\r\nHost: x\r\n"
                                       b"X-Request-ID: mine-1\r\n\r\n")
    problem = assert_raw_problem(answer, 404)
    assert (problem["instance"], problem["request_id"]) == ("/nope", "mine-1")
