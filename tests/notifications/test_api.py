"""The notifications API as API.md promises it, on both databases."""

import pytest

COUNT = "/api/notifications/unread-count"
LIST = "/api/notifications"


def test_unread_count_by_kind(client, tokens, notify):
    notify([1, 2], kind="dashboard")
    notify([1], kind="profile")
    notify([1], kind="profile", title="another")
    response = client.get(COUNT, headers=tokens.user(1))
    assert response.status_code == 200
    assert response.json == {"unread_count": 3, "dashboard": 1, "profile": 2}
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert int(response.headers["X-Poll-Interval"]) == 30
    assert response.headers["ETag"]


def test_unread_count_for_a_user_with_nothing(client, tokens):
    response = client.get(COUNT, headers=tokens.user(42))
    assert response.json == {"unread_count": 0, "dashboard": 0, "profile": 0}


def test_etag_answers_304_until_the_counts_change(client, tokens, notify):
    notify([1])
    etag = client.get(COUNT, headers=tokens.user(1)).headers["ETag"]
    unchanged = client.get(COUNT, headers={**tokens.user(1), "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.data == b""
    assert unchanged.headers["ETag"] == etag
    assert unchanged.headers["X-Poll-Interval"]
    weak = client.get(COUNT, headers={**tokens.user(1), "If-None-Match": f"W/{etag}, \"x\""})
    assert weak.status_code == 304
    notify([1])
    changed = client.get(COUNT, headers={**tokens.user(1), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json["unread_count"] == 2
    assert changed.headers["ETag"] != etag


def test_list_is_newest_first_with_the_api_fields(client, tokens, notify):
    notify([1], title="first", category="review", body="b", link="/reviews/1")
    notify([1], kind="profile", title="second")
    notify([2], title="someone else's")
    response = client.get(LIST, headers=tokens.user(1))
    assert response.status_code == 200
    items = response.json["items"]
    assert [i["title"] for i in items] == ["second", "first"]
    assert response.json["next_cursor"] is None
    first = items[1]
    assert set(first) == {"id", "kind", "category", "title", "body", "link", "created_at",
                          "read_at"}
    assert (first["kind"], first["category"], first["body"], first["link"]) == (
        "dashboard", "review", "b", "/reviews/1")
    assert first["created_at"].endswith("Z") and first["read_at"] is None


def test_list_filters_by_kind_and_unread(client, tokens, notify):
    notify([1], kind="dashboard", title="d1")
    notify([1], kind="profile", title="p1")
    notify([1], kind="profile", title="p2")
    items = client.get(LIST, headers=tokens.user(1)).json["items"]
    p2 = next(i for i in items if i["title"] == "p2")
    client.post(f"{LIST}/{p2['id']}/read", headers=tokens.user(1))
    titles = lambda query: [i["title"] for i in client.get(  # noqa: E731
        f"{LIST}?{query}", headers=tokens.user(1)).json["items"]]
    assert titles("kind=profile") == ["p2", "p1"]
    assert titles("unread=true") == ["p1", "d1"]
    assert titles("kind=profile&unread=true") == ["p1"]
    read = next(i for i in client.get(LIST, headers=tokens.user(1)).json["items"]
                if i["title"] == "p2")
    assert read["read_at"].endswith("Z")


def test_cursor_pages_stay_stable_while_new_notifications_arrive(client, tokens, notify):
    for n in range(7):
        notify([1], title=f"n{n}")
    seen, cursor = [], None
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = client.get(LIST + query, headers=tokens.user(1)).json
        seen += [i["title"] for i in page["items"]]
        notify([1], title=f"new after {len(seen)}")  # arrives between pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"n{n}" for n in reversed(range(7))]


def test_mark_read_answers_the_fresh_counts(client, tokens, notify):
    notify([1], kind="dashboard")
    notify([1], kind="profile")
    item = client.get(f"{LIST}?kind=profile", headers=tokens.user(1)).json["items"][0]
    response = client.post(f"{LIST}/{item['id']}/read", headers=tokens.user(1))
    assert response.status_code == 200
    assert response.json == {"unread_count": 1, "dashboard": 1, "profile": 0}
    assert response.headers["ETag"]
    again = client.post(f"{LIST}/{item['id']}/read", headers=tokens.user(1))
    assert again.status_code == 200 and again.json["unread_count"] == 1


def test_mark_read_of_another_users_notification_is_404_and_changes_nothing(
        client, tokens, notify):
    notify([2])
    theirs = client.get(LIST, headers=tokens.user(2)).json["items"][0]
    response = client.post(f"{LIST}/{theirs['id']}/read", headers=tokens.user(1))
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert client.get(COUNT, headers=tokens.user(2)).json["unread_count"] == 1
    assert client.post(f"{LIST}/999999/read", headers=tokens.user(1)).status_code == 404


def test_read_all_by_kind_and_in_full(client, tokens, notify):
    notify([1, 2], kind="dashboard")
    notify([1], kind="profile")
    response = client.post(f"{LIST}/read-all?kind=dashboard", headers=tokens.user(1))
    assert response.json == {"unread_count": 1, "dashboard": 0, "profile": 1}
    response = client.post(f"{LIST}/read-all", headers=tokens.user(1))
    assert response.json == {"unread_count": 0, "dashboard": 0, "profile": 0}
    assert client.get(COUNT, headers=tokens.user(2)).json["unread_count"] == 1


def test_create_is_idempotent_per_user_and_dedupe_key(client, tokens, notify, row_count):
    assert notify([1, 2, 2], dedupe_key="season-3-results") == 2
    assert notify([1, 2, 3], dedupe_key="season-3-results") == 1
    assert notify([1], dedupe_key="other") == 1
    assert notify([1]) == 1 and notify([1]) == 1  # no key: every call is new
    assert row_count() == 6


def test_create_fans_out_to_ten_thousand_users(client, tokens, notify, row_count):
    assert notify(range(1, 10_001), dedupe_key="welcome") == 10_000
    assert notify(range(1, 10_001), dedupe_key="welcome") == 0
    assert row_count() == 10_000
    assert client.get(COUNT, headers=tokens.user(9_999)).json["unread_count"] == 1


ENDPOINTS = [
    ("get", COUNT), ("get", LIST), ("post", f"{LIST}/1/read"), ("post", f"{LIST}/read-all"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_user_endpoints_need_a_valid_token(client, tokens, method, path):
    call = getattr(client, method)
    for headers in ({}, {"Authorization": "Bearer not.a.jwt"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer " + "x" * 40}):
        response = call(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_service_token_is_not_a_user(client, tokens, method, path):
    assert getattr(client, method)(path, headers=tokens.service).status_code == 403


def test_tokens_signed_with_another_secret_or_expired_are_refused(client, app):
    from shared.auth import mint_token

    forged = mint_token({"JWT_SECRET": "not-our-secret-but-long-enough-for-hs256"}, 1, "student")
    expired = mint_token(app.config, 1, "student", ttl=-3600)
    for token in (forged, expired):
        response = client.get(COUNT, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


@pytest.mark.parametrize("role", ["student", "mentor", "admin"])
def test_people_cannot_use_the_internal_api(client, tokens, role, row_count):
    response = client.post("/internal/notifications/", headers=tokens.user(1, role),
                           json={"user_ids": [1], "kind": "dashboard", "title": "x"})
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert row_count() == 0


def test_internal_api_needs_a_token(client, row_count):
    body = {"user_ids": [1], "kind": "dashboard", "title": "x"}
    assert client.post("/internal/notifications/", json=body).status_code == 401
    wrong = {"Authorization": "Bearer cohort-dev-service-token-but-wrong"}
    assert client.post("/internal/notifications/", json=body, headers=wrong).status_code == 401
    assert row_count() == 0


def test_an_unreachable_database_answers_503_problems(tokens):
    from services.notifications import create_app
    from tests.support.servers import closed_port

    app = create_app({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed_port()}/x"})
    client = app.test_client()
    for method, path in ENDPOINTS:
        response = getattr(client, method)(path, headers=tokens.user(1))
        assert response.status_code == 503, response.json
        assert response.content_type == "application/problem+json"
        assert response.headers["Retry-After"]
    assert client.get("/health/ready/").status_code == 503


def test_the_openapi_document_states_the_limits_and_the_token_rules(client):
    document = client.get("/api/notifications/openapi.json").json
    create = document["components"]["schemas"]["CreateNotifications"]["properties"]
    assert (create["title"]["minLength"], create["title"]["maxLength"]) == (1, 200)
    assert create["body"]["maxLength"] == 10_000
    assert create["category"]["maxLength"] == 64 and create["link"]["maxLength"] == 500
    assert create["dedupe_key"]["maxLength"] == 200
    assert create["user_ids"]["maxItems"] == 10_000
    assert create["user_ids"]["items"]["maximum"] == 2**63 - 1
    assert "NUL" in create["title"]["description"]
    assert "http(s)" in create["link"]["description"]
    bearer = document["components"]["securitySchemes"]["bearerAuth"]["description"]
    assert "string of ASCII digits" in bearer and "exp" in bearer
