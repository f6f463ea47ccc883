"""Hostile input answers a clear 4xx problem, never a 500, and writes nothing."""

import time

import jwt
import pytest

from shared.config import DEV_JWT_SECRET

COUNT = "/api/notifications/unread-count"
LIST = "/api/notifications"
CREATE = "/internal/notifications/"
GOOD = {"user_ids": [1], "kind": "dashboard", "title": "Season 4 starts Monday"}
ENDPOINTS = [("get", COUNT), ("get", LIST), ("post", f"{LIST}/1/read"),
             ("post", f"{LIST}/read-all")]


def is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/problem+json"
    return response.get_json(force=True)


@pytest.mark.parametrize("notification_id", [2**63, 2**63 - 1 + 2**64, 10**30])
def test_a_path_id_past_bigint_is_404(client, tokens, notify, notification_id):
    notify([1])
    is_problem(client.post(f"{LIST}/{notification_id}/read", headers=tokens.user(1)), 404)
    assert client.get(COUNT, headers=tokens.user(1)).json["unread_count"] == 1


def signed(**claims) -> dict:
    now = int(time.time())
    payload = {"sub": "7", "role": "student", "iat": now, "exp": now + 600, **claims}
    return {"Authorization": "Bearer " + jwt.encode(payload, DEV_JWT_SECRET, algorithm="HS256")}


BAD_CLAIMS = [{"sub": str(10**30)}, {"sub": 7}, {"cohort_id": 10**30},
              {"cohort_id": str(10**30)}, {"exp": "4102444800"},  # 2100, as a string
              {"exp": True}, {"sub": "9223372036854775808"}]


@pytest.mark.parametrize("claims", BAD_CLAIMS, ids=[str(c) for c in BAD_CLAIMS])
@pytest.mark.parametrize("cache", ["off", "redis"])
def test_a_signed_token_with_a_bad_claim_is_401_everywhere(make_app, request, claims, cache):
    overrides = {"USE_NOTIFICATION_CACHE": "off"} if cache == "off" else {
        "USE_NOTIFICATION_CACHE": "on", "CACHE_URL": request.getfixturevalue("redis_url")}
    client = make_app(**overrides).test_client()
    for method, path in ENDPOINTS:  # the poll in front of Flask included
        problem = is_problem(getattr(client, method)(path, headers=signed(**claims)), 401)
        assert problem["instance"] == path


@pytest.mark.parametrize("field", ["title", "body", "category", "link", "dedupe_key"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff"])
def test_nul_and_lone_surrogates_are_400_and_write_nothing(client, tokens, row_count, field,
                                                           bad):
    value = "/" + bad if field == "link" else bad
    body = {**GOOD, field: value}
    # Encoded by hand: a lone surrogate is valid JSON text (\ud800) but not valid Unicode.
    import json
    raw = json.dumps(body)
    problem = is_problem(client.post(CREATE, data=raw, headers=tokens.service,
                                     content_type="application/json"), 400)
    assert field in problem["errors"]
    assert row_count() == 0


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_deeply_is_400_and_writes_nothing(client, tokens, row_count, depth):
    raw = '{"user_ids": [1], "kind": "dashboard", "title": "t", "body": ' + "[" * depth \
        + "]" * depth + "}"
    is_problem(client.post(CREATE, data=raw, headers=tokens.service,
                           content_type="application/json"), 400)
    assert row_count() == 0


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,x",
    "//evil.example/x", "vbscript:x", "http:/nohost", "ftp://example.com/x", "\\\\evil",
])
def test_links_other_than_site_paths_and_http_urls_are_refused(client, tokens, row_count, link):
    problem = is_problem(client.post(CREATE, json={**GOOD, "link": link},
                                     headers=tokens.service), 400)
    assert "link" in problem["errors"]
    assert row_count() == 0


@pytest.mark.parametrize("link", ["", "/submissions/4", "https://example.com/a?b=c",
                                  "http://localhost:8000/x"])
def test_site_paths_and_http_urls_are_accepted(notify, link):
    assert notify([1], link=link) == 1


def test_readiness_says_database_unreachable_and_logs_the_rest(caplog):
    from services.notifications import create_app
    from tests.support.servers import closed_port

    port = closed_port()
    app = create_app({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/secretdb",
                      "COHORT_ENV": "test"})
    response = app.test_client().get("/health/ready/")
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "database unreachable" in text
    assert str(port) not in text and "secretdb" not in text and "127.0.0.1" not in text
    assert any(str(port) in r.getMessage() for r in caplog.records)
