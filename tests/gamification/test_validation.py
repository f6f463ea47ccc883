"""Every endpoint against missing and bad tokens, bad input (a clear 4xx, nothing written),
ids past 2^63, NUL and lone surrogates, and empty query values."""

import json

import pytest

from tests.support.problems import assert_problem

BIG = 2**63
API, INTERNAL = "/api/gamification", "/internal/gamification"
TABLES = ("players", "awards", "seasons", "totals", "boards", "activity_days", "outbox")

PUBLIC = [
    ("get", f"{API}/leaderboard"),
    ("get", f"{API}/players/1"),
    ("get", f"{API}/players/me/streak"),
    ("get", f"{API}/players/1/activity"),
    ("post", f"{API}/players/1/sync"),
    ("get", f"{API}/seasons"),
    ("get", f"{API}/seasons/current"),
    ("post", f"{API}/seasons"),
    ("patch", f"{API}/seasons/1"),
]
PRIVATE = [
    ("put", f"{INTERNAL}/players/1"),
    ("post", f"{INTERNAL}/points"),
    ("post", f"{INTERNAL}/players/batch"),
]
PLAYER = {"cohort_id": 1, "display_name": "Ada", "leetcode_username": "ada", "timezone": "UTC"}
SEASON = {"name": "S", "cohort_id": None, "starts_at": "2030-01-01T00:00:00Z",
          "ends_at": "2030-02-01T00:00:00Z"}
AWARD = {"user_id": 1, "points": 5, "ref": "r1", "reason": "review",
         "occurred_at": "2025-01-01T00:00:00Z"}


@pytest.fixture
def counts(app, rows):
    def snapshot():
        return {table: rows(table) for table in TABLES}

    return snapshot


@pytest.fixture
def world(game):
    game.player(1)
    game.player(2)
    game.season("Now")
    return game


@pytest.mark.parametrize(("method", "path"), PUBLIC + PRIVATE)
def test_no_token_and_a_bad_token_are_401(client, method, path):
    assert_problem(getattr(client, method)(path), 401)
    bad = {"Authorization": "Bearer not.a.token"}
    assert_problem(getattr(client, method)(path, headers=bad), 401)


@pytest.mark.parametrize(("method", "path"), PRIVATE)
def test_a_person_on_internal_is_403(client, tokens, method, path):
    assert_problem(getattr(client, method)(path, headers=tokens.user(1, "admin"), json={}), 403)


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_a_service_on_the_public_api_is_403(client, tokens, method, path):
    assert_problem(getattr(client, method)(path, headers=tokens.service, json={}), 403)


@pytest.mark.parametrize("path", [
    f"{API}/players/{BIG}", f"{API}/players/{BIG}/streak", f"{API}/players/0/activity",
    f"{API}/players/-1", f"{API}/players/99999999999999999999"])
def test_ids_past_a_bigint_are_404(client, tokens, path):
    assert_problem(client.get(path, headers=tokens.user(1, "admin")), 404)
    assert_problem(client.patch(f"{API}/seasons/{BIG}", headers=tokens.user(1, "admin"),
                                json={"name": "x"}), 404)
    assert_problem(client.put(f"{INTERNAL}/players/{BIG}", headers=tokens.service,
                              json=PLAYER), 404)


@pytest.mark.parametrize(("query", "field"), [
    ("season=soon", "season"), ("season=0", "season"), (f"season={BIG}", "season"),
    ("season=%00", "season"), ("limit=0", "limit"), ("limit=101", "limit"),
    ("limit=ten", "limit"), ("offset=-1", "offset"), ("around=you", "around"),
    ("cohort=x", "cohort"), (f"cohort={BIG}", "cohort"), ("cohort=0", "cohort"),
])
def test_bad_leaderboard_parameters(client, game, world, query, field):
    assert_problem(client.get(f"{API}/leaderboard?{query}", headers=game.student(1)), 400, field)


def test_empty_and_unknown_parameters_are_not_given(client, game, world):
    for query in ("season=&limit=&offset=&around=&cohort=", "sort=name", "around=&limit=5"):
        response = client.get(f"{API}/leaderboard?{query}", headers=game.student(1))
        assert response.status_code == 200, (query, response.json)
    assert client.get(f"{API}/seasons?cohort=&status=", headers=game.student(1)).status_code \
        == 200
    assert client.get(f"{API}/players/1/activity?from=&to=", headers=game.student(1)) \
        .status_code == 200


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"), ("to=2025-13-01", "to"), ("from=%00", "from"),
    ("from=2024-01-01&to=2025-01-02", "to"), ("from=2025-02-01&to=2025-01-01", "from"),
])
def test_bad_activity_ranges(client, game, world, query, field):
    assert_problem(client.get(f"{API}/players/1/activity?{query}", headers=game.student(1)),
                   400, field)


def test_a_range_of_366_days_is_allowed(client, game, world):
    response = client.get(f"{API}/players/1/activity?from=2024-01-01&to=2024-12-31",
                          headers=game.student(1))
    assert response.status_code == 200


@pytest.mark.parametrize(("query", "field"), [("status=open", "status"), ("cohort=one", "cohort"),
                                              (f"cohort={BIG}", "cohort")])
def test_bad_season_filters(client, game, query, field):
    assert_problem(client.get(f"{API}/seasons?{query}", headers=game.student(1)), 400, field)


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"), ({"name": "a\x00b"}, "name"), ({"name": "a\nb"}, "name"),
    ({"name": "x" * 101}, "name"), ({"cohort_id": "1"}, "cohort_id"),
    ({"cohort_id": BIG}, "cohort_id"), ({"cohort_id": 0}, "cohort_id"),
    ({"starts_at": "2030-01-01T00:00:00"}, "starts_at"), ({"ends_at": "soon"}, "ends_at"),
    ({"starts_at": None}, "starts_at"), ({"colour": "red"}, "colour"),
    ({"ends_at": "2029-01-01T00:00:00Z"}, "ends_at"),
])
def test_bad_new_seasons_write_nothing(client, game, counts, change, field):
    before = counts()
    assert_problem(client.post(f"{API}/seasons", headers=game.admin,
                               json={**SEASON, **change}), 400, field)
    assert counts() == before


def test_missing_season_fields_and_a_lone_surrogate(client, game, counts):
    before = counts()
    for name in ("name", "cohort_id", "starts_at", "ends_at"):
        body = {k: v for k, v in SEASON.items() if k != name}
        assert_problem(client.post(f"{API}/seasons", headers=game.admin, json=body), 400, name)
    raw = json.dumps(SEASON).replace('"S"', '"\\ud800"')
    assert_problem(client.post(f"{API}/seasons", headers=game.admin, data=raw,
                               content_type="application/json"), 400, "name")
    assert_problem(client.post(f"{API}/seasons", headers=game.admin, data="{",
                               content_type="application/json"), 400)
    assert_problem(client.post(f"{API}/seasons", headers=game.admin, data="name=S"), 415)
    assert counts() == before


def test_students_and_mentors_may_not_create_seasons(client, game, counts):
    before = counts()
    assert_problem(client.post(f"{API}/seasons", headers=game.student(1), json=SEASON), 403)
    assert_problem(client.post(f"{API}/seasons", headers=game.tokens.user(900001, "mentor"),
                               json=SEASON), 403)
    assert counts() == before


@pytest.mark.parametrize(("change", "field"), [
    ({"name": None}, "name"), ({"cohort_id": 2}, "cohort_id"), ({"starts_at": 5}, "starts_at")])
def test_bad_season_patches(client, game, world, change, field):
    assert_problem(client.patch(f"{API}/seasons/1", headers=game.admin, json=change), 400, field)


@pytest.mark.parametrize(("change", "field"), [
    ({"timezone": "Mars/Olympus"}, "timezone"), ({"timezone": ""}, "timezone"),
    ({"timezone": "UTC\x00"}, "timezone"), ({"cohort_id": 0}, "cohort_id"),
    ({"cohort_id": BIG}, "cohort_id"), ({"cohort_id": 1.5}, "cohort_id"),
    ({"display_name": "\x00"}, "display_name"), ({"display_name": ""}, "display_name"),
    ({"leetcode_username": "a b"}, "leetcode_username"),
    ({"leetcode_username": "x" * 65}, "leetcode_username"), ({"extra": 1}, "extra"),
    ({"user_id": 1}, "user_id"),
])
def test_bad_players_write_nothing(client, tokens, counts, change, field):
    before = counts()
    assert_problem(client.put(f"{INTERNAL}/players/1", headers=tokens.service,
                              json={**PLAYER, **change}), 400, field)
    assert counts() == before


def test_missing_player_fields(client, tokens, counts):
    before = counts()
    for name in PLAYER:
        body = {k: v for k, v in PLAYER.items() if k != name}
        assert_problem(client.put(f"{INTERNAL}/players/1", headers=tokens.service, json=body),
                       400, name)
    assert counts() == before


@pytest.mark.parametrize(("change", "detail"), [
    ({"points": 0}, "points"), ({"points": "5"}, "points"), ({"points": True}, "points"),
    ({"points": 2.5}, "points"), ({"points": 10**7}, "points"), ({"ref": ""}, "ref"),
    ({"ref": "r" * 129}, "ref"), ({"ref": "a\x00"}, "ref"), ({"reason": "\ud800"}, "reason"),
    ({"occurred_at": "2025-01-01"}, "occurred_at"), ({"occurred_at": "2999-01-01T00:00:00Z"},
                                                      "occurred_at"),
    ({"user_id": BIG}, "user_id"), ({"user_id": "1"}, "user_id"), ({"bonus": 1}, "bonus"),
])
def test_one_bad_award_fails_the_batch_and_names_itself(client, tokens, world, counts, change,
                                                        detail):
    before = counts()
    body = {"awards": [AWARD, {**AWARD, "ref": "second", **change}]}
    problem = assert_problem(client.post(f"{INTERNAL}/points", headers=tokens.service,
                                         json=body), 400)
    [error] = problem["errors"]
    assert error["index"] == 1 and detail in error["detail"]
    assert error["ref"] == change.get("ref", "second") or "ref" in change
    assert counts() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"awards": []}, "awards"), ({"awards": [AWARD] * 1001}, "awards"), ({}, "awards"),
    ({"awards": {"0": AWARD}}, "awards"), ({"awards": [AWARD], "more": 1}, "more"),
])
def test_bad_award_envelopes(client, tokens, world, counts, body, field):
    before = counts()
    assert_problem(client.post(f"{INTERNAL}/points", headers=tokens.service, json=body), 400,
                   field)
    assert counts() == before


def test_a_thousand_awards_are_accepted(client, tokens, world):
    awards = [{**AWARD, "ref": f"r{n}", "user_id": 1 + n % 2} for n in range(1000)]
    response = client.post(f"{INTERNAL}/points", headers=tokens.service, json={"awards": awards})
    assert response.status_code == 201 and response.json == {"awarded": 1000, "duplicates": 0}


def test_non_objects_in_an_award_list(client, tokens, world, counts):
    before = counts()
    problem = assert_problem(client.post(f"{INTERNAL}/points", headers=tokens.service,
                                         json={"awards": [AWARD, 7, None]}), 400)
    assert [e["index"] for e in problem["errors"]] == [1, 2]
    assert counts() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"user_ids": []}, "user_ids"), ({"user_ids": list(range(1, 1002))}, "user_ids"),
    ({"user_ids": [BIG]}, "user_ids"), ({"user_ids": ["1"]}, "user_ids"),
])
def test_bad_batch_reads(client, tokens, body, field):
    assert_problem(client.post(f"{INTERNAL}/players/batch", headers=tokens.service, json=body),
                   400, field)


def test_the_openapi_document_describes_every_route(client):
    document = client.get(f"{API}/openapi.json").json
    paths = document["paths"]
    for path in ("/api/gamification/leaderboard", "/api/gamification/players/{user_id}/sync",
                 "/api/gamification/players/me/streak", "/internal/gamification/points",
                 "/api/gamification/seasons/{season_id}"):
        assert path in paths, sorted(paths)
    leaderboard = paths["/api/gamification/leaderboard"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(leaderboard["responses"])
