"""Signed cursors: a round trip, and 400 problem details for anything else."""

import base64
import hashlib
import hmac
import json

import pytest

from shared.errors import Problem
from shared.pagination import decode_cursor, encode_cursor
from tests.shared.service_app import CURSOR_SECRET

SECRET = "cursor-secret"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("values", [
    ["2024-06-01T12:00:00.000001+00:00", 42],
    [0, 0],
    ["é ünïcode", None],
    [9_007_199_254_740_993, -1.5],
])
def test_round_trip(values):
    token = encode_cursor(values, SECRET)
    assert "=" not in token and "/" not in token and "+" not in token  # safe in a query
    assert decode_cursor(token, SECRET, len(values)) == values


def forged(values, secret: str = "another-secret") -> str:
    return encode_cursor(values, secret)


def tampered() -> str:
    signature = encode_cursor(["2024-01-01", 1], SECRET).split(".")[1]
    return f"{b64(json.dumps(['2024-01-01', 999]).encode())}.{signature}"


def unsigned() -> str:
    return b64(json.dumps(["2024-01-01", 1]).encode())


def wrong_shape(values) -> str:
    return encode_cursor(values, SECRET)


@pytest.mark.parametrize("token", [
    forged(["2024-01-01", 1]),
    tampered(),
    unsigned(),
    "",
    ".",
    "a.b.c",
    "not-base64!.also@not",
    "é.é",
    "%%%.%%%",
    wrong_shape(["2024-01-01"]),
    wrong_shape(["2024-01-01", 1, 2]),
    wrong_shape({"a": 1}),
    wrong_shape("ab"),
    wrong_shape(None),
])
def test_anything_but_an_issued_cursor_is_a_400_problem(token):
    with pytest.raises(Problem) as caught:
        decode_cursor(token, SECRET, 2)
    assert caught.value.status == 400
    assert caught.value.title == "Invalid cursor"


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"[1, 2", b"[1, NaN]x"])
def test_signed_bytes_that_are_not_a_json_list_are_refused(payload):
    """Even with our signature (a leaked or reused secret), junk is a 400, not a 500."""
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).digest()[:12]
    with pytest.raises(Problem):
        decode_cursor(f"{b64(payload)}.{b64(signature)}", SECRET, 2)


def test_a_route_answers_400_problem_json(app):
    client = app.test_client()
    good = encode_cursor(["2024-01-01", 7], CURSOR_SECRET)
    assert client.get(f"/api/probe/cursor?cursor={good}").get_json() == {
        "values": ["2024-01-01", 7]}
    for token in (forged(["2024-01-01", 7]), "garbled", encode_cursor([1], CURSOR_SECRET)):
        response = client.get(f"/api/probe/cursor?cursor={token}")
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        assert "first page" in response.get_json()["detail"]
