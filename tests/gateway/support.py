"""Helpers for tests that talk to a running gateway: free ports, problem-details checks."""

import socket

import requests


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports nothing listens on (held together, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def assert_problem(response: requests.Response, status: int) -> dict:
    """The response is RFC 9457 problem details with `status`; returns the body."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body
