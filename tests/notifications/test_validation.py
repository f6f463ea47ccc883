"""Bad input answers a clear 4xx problem and writes nothing."""

import json

import pytest

from tests.support.problems import assert_problem

LIST = "/api/notifications"
CREATE = "/internal/notifications/"
GOOD = {"user_ids": [1, 2], "kind": "dashboard", "title": "Season 4 starts Monday"}


@pytest.mark.parametrize(("query", "field"), [
    ("kind=email", "kind"),
    ("limit=0", "limit"),
    ("limit=101", "limit"),
    ("limit=ten", "limit"),
    ("unread=maybe", "unread"),
])
def test_bad_list_parameters(client, tokens, query, field):
    assert_problem(client.get(f"{LIST}?{query}", headers=tokens.user(1)), 400, field)


def test_unknown_parameters_are_ignored_and_empty_values_are_not_given(client, tokens, notify):
    notify([1])
    # The contract's own example: empty optional values mean "not given".
    for query in ("sort=oldest", "kind=&unread=true&limit=20&cursor=", "kind=&cursor=&limit="):
        response = client.get(f"{LIST}?{query}", headers=tokens.user(1))
        assert response.status_code == 200, (query, response.json)
        assert len(response.json["items"]) == 1
    response = client.post(f"{LIST}/read-all?kind=", headers=tokens.user(1))
    assert response.status_code == 200 and response.json["unread_count"] == 0


def test_limit_bounds_are_inclusive(client, tokens):
    for limit in (1, 100):
        assert client.get(f"{LIST}?limit={limit}", headers=tokens.user(1)).status_code == 200


def test_bad_kind_on_read_all_writes_nothing(client, tokens, notify):
    notify([1])
    assert_problem(client.post(f"{LIST}/read-all?kind=sms", headers=tokens.user(1)), 400, "kind")
    assert client.get(f"{LIST}/unread-count", headers=tokens.user(1)).json["unread_count"] == 1


@pytest.mark.parametrize("cursor", [
    "garbage",
    "a.b.c",
    "%%%",
    "WyIyMDI2LTAxLTAxIiwxXQ.AAAAAAAAAAAAAAAA",  # a well-formed payload, forged signature
])
def test_forged_or_garbled_cursor(client, tokens, cursor):
    problem = assert_problem(client.get(f"{LIST}?cursor={cursor}", headers=tokens.user(1)), 400)
    assert "cursor" in problem["detail"]


def test_a_cursor_cannot_be_edited(client, tokens, notify):
    for _ in range(3):
        notify([1])
    cursor = client.get(f"{LIST}?limit=1", headers=tokens.user(1)).json["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    assert_problem(client.get(f"{LIST}?cursor={tampered}", headers=tokens.user(1)), 400)


@pytest.mark.parametrize(("body", "field"), [
    ({**GOOD, "kind": "email"}, "kind"),
    ({k: v for k, v in GOOD.items() if k != "user_ids"}, "user_ids"),
    ({k: v for k, v in GOOD.items() if k != "kind"}, "kind"),
    ({k: v for k, v in GOOD.items() if k != "title"}, "title"),
    ({**GOOD, "user_ids": []}, "user_ids"),
    ({**GOOD, "user_ids": list(range(1, 11_001))}, "user_ids"),
    ({**GOOD, "user_ids": [1, "2"]}, "user_ids"),
    ({**GOOD, "user_ids": [1, 0]}, "user_ids"),
    ({**GOOD, "user_ids": "1,2"}, "user_ids"),
    ({**GOOD, "title": ""}, "title"),
    ({**GOOD, "title": "x" * 201}, "title"),
    ({**GOOD, "dedupe_key": ""}, "dedupe_key"),
    ({**GOOD, "priority": "high"}, "priority"),
])
def test_bad_create_bodies_write_nothing(client, tokens, row_count, body, field):
    assert_problem(client.post(CREATE, json=body, headers=tokens.service), 400, field)
    assert row_count() == 0


def test_body_that_is_not_json(client, tokens, row_count):
    response = client.post(CREATE, data="{user_ids: [1]", headers=tokens.service,
                           content_type="application/json")
    assert_problem(response, 400)
    response = client.post(CREATE, data="[1, 2]", headers=tokens.service,
                           content_type="application/json")
    assert_problem(response, 400)
    assert row_count() == 0


def test_wrong_content_type(client, tokens, row_count):
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(CREATE, data=json.dumps(GOOD), headers=tokens.service,
                               content_type=content_type)
        assert_problem(response, 415)
    assert row_count() == 0


def test_oversized_body(client, tokens, row_count):
    body = {**GOOD, "body": "x" * (2 << 20)}
    assert_problem(client.post(CREATE, json=body, headers=tokens.service), 413)
    assert row_count() == 0


def test_a_user_id_beyond_bigint_writes_nothing(client, tokens, row_count):
    huge_id = {**GOOD, "user_ids": [1, 2**63]}
    assert_problem(client.post(CREATE, json=huge_id, headers=tokens.service), 400, "user_ids")
    assert row_count() == 0


def test_unknown_paths_and_methods_are_problems(client, tokens):
    assert_problem(client.get("/api/notifications/nope", headers=tokens.user(1)), 404)
    assert_problem(client.delete(LIST, headers=tokens.user(1)), 405)
    assert_problem(client.post(f"{LIST}/abc/read", headers=tokens.user(1)), 404)
