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


def raw_request(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are (no client library would send a malformed request); the
    answer's status, headers (lower-case names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(rest) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def assert_raw_problem(answer: tuple[int, dict, bytes], status: int) -> dict:
    """A raw answer is problem JSON with `status` and the members Flask's problems have."""
    import json

    code, headers, body = answer
    assert code == status, (code, body[:300])
    assert headers["content-type"].startswith("application/problem+json"), headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem["type"] == "about:blank" and "instance" in problem and problem["request_id"]
    return problem
