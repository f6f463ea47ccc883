"""The leaderboard in front of Flask (shared/front.py) answers exactly as the route does, or
leaves the request to it; pages kept per board version never show a stale name or streak."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.test import Client

from services.gamification import leaderboard
from services.gamification.streaks import zone
from shared.front import FrontRoute
from tests.gamification.test_sync import days_ago, run
from tests.support.problems import assert_problem

BOARD = "/api/gamification/leaderboard"
pytestmark = pytest.mark.redis


@pytest.fixture(params=["sql", "redis"])
def board_app(request, make_app, game):
    """The app with or without Redis, on a board of ties and a frozen season."""
    for user in range(1, 31):
        game.player(user, cohort=1 if user <= 25 else 2, name=f"Ünïcode {user}")
    game.season("Past", starts="2019-01-01T00:00:00Z", ends="2019-12-31T00:00:00Z")
    game.season("Now")
    game.award(*[game.points(u, 5 * (u % 4) + 5, ref=f"r{u}") for u in range(1, 31)])
    game.award(game.points(2, 7, ref="old", at="2019-06-01T12:00:00Z"))
    if request.param == "sql":
        return make_app()
    return make_app(CACHE_URL=request.getfixturevalue("redis_url"), CACHE_RETRY_AFTER="0")


def clients(app) -> tuple[Client, Client]:
    """A client through the front route, and one straight to Flask behind it."""
    assert isinstance(app.wsgi_app, FrontRoute)
    return Client(app.wsgi_app), Client(app.wsgi_app.next)


def answer(client, url, headers):
    response = client.get(url, headers=headers)
    data = response.data
    response.close()  # runs its call_on_close work (a rebuild of the Redis copy)
    return response.status, list(response.headers.items()), data


def request_lines(caplog) -> list[dict]:
    lines = [dict(r.fields) for r in caplog.records if r.name == "cohort.request"]
    for line in lines:
        line.pop("duration_ms")
        line.pop("db_ms")
        line.pop("queries")  # the route's first answer may also rebuild the copy
    return lines


URLS = ["", "?limit=5", "?limit=5&offset=3", "?around=me&limit=3", "?around=me&limit=3&offset=9",
        "?season=current&limit=", "?limit=5&limit=9", "?cohort=1&limit=4", "?unknown=1"]


@pytest.mark.parametrize("url", URLS)
def test_answers_byte_for_byte_as_the_route_does(board_app, tokens, caplog, url):
    headers = {**tokens.user(3, "student", cohort_id=1), "X-Request-ID": "front-1"}
    front, flask = clients(board_app)
    answer(flask, BOARD + url, headers)  # the Redis copy is built after the first answer
    caplog.set_level(logging.INFO)
    caplog.clear()

    status, response_headers, body = answer(front, BOARD + url, headers)

    assert (status, response_headers, body) == answer(flask, BOARD + url, headers)
    assert status == "200 OK"
    assert body == board_app.json.response(board_app.json.loads(body)).get_data()
    front_line, flask_line = request_lines(caplog)
    assert front_line == flask_line and front_line["route"] == BOARD


def test_a_frozen_season_and_an_admin_of_another_cohort(board_app, tokens):
    front, flask = clients(board_app)
    admin = {**tokens.user(99, "admin"), "X-Request-ID": "frozen-1"}
    seasons = board_app.test_client().get("/api/gamification/seasons", headers=admin).json
    past = next(s["id"] for s in seasons["items"] if s["name"] == "Past")
    assert board_app.test_cli_runner().invoke(args=["update-seasons"]).exit_code == 0
    for url in (f"?season={past}&cohort=1", "?cohort=2", f"?season={past}&around=me&cohort=1"):
        first = answer(front, BOARD + url, admin)
        assert first[0] == "200 OK"
        assert first == answer(front, BOARD + url, admin) == answer(flask, BOARD + url, admin)


@pytest.mark.parametrize(("url", "status"), [
    ("?limit=0", 400), ("?limit=abc", 400), ("?limit=101", 400), ("?offset=-1", 400),
    ("?season=x", 400), ("?season=0", 400), ("?cohort=99999999999999999999", 400),
    ("?around=you", 400), ("?limit=1%00", 400), ("?season=%ED%A0%80", 400),
    ("?cohort=2", 403), ("?season=999", 404),
])
def test_bad_parameters_get_the_routes_problem(board_app, tokens, url, status):
    headers = {**tokens.user(3, "student", cohort_id=1), "X-Request-ID": "bad-1"}
    front, flask = clients(board_app)
    response = front.get(BOARD + url, headers=headers)
    assert_problem(response, status)
    assert response.data == flask.get(BOARD + url, headers=headers).data


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Bearer not-a-token"}, 401), (None, 403)])
def test_no_bad_or_service_token_gets_the_routes_problem(board_app, tokens, headers, status):
    response = board_app.test_client().get(BOARD, headers=tokens.service if headers is None
                                           else headers)
    assert_problem(response, status)


def test_a_token_without_a_cohort_gets_the_routes_400(board_app, tokens):
    response = board_app.test_client().get(BOARD, headers=tokens.user(99, "admin"))
    assert_problem(response, 400)


def test_no_season_now_is_the_routes_404(make_app, game, tokens):
    game.player(1)
    front, flask = clients(make_app())
    headers = {**tokens.user(1, "student", cohort_id=1), "X-Request-ID": "none-1"}
    assert answer(front, BOARD, headers)[0].startswith("404")
    assert answer(front, BOARD, headers)[2] == answer(flask, BOARD, headers)[2]


@pytest.fixture
def pair(make_app, redis_url, game):
    """The database's answer and the Redis one (its page kept after the first answer)."""
    for user in range(1, 6):
        game.player(user, name=f"P{user}")
    game.season("Now")
    game.award(*[game.points(u, u, ref=f"p{u}") for u in range(1, 6)])
    sql = make_app()
    cached = make_app(CACHE_URL=redis_url, CACHE_RETRY_AFTER="0")
    return sql, cached


def board(app, tokens, user=1):
    status, _, body = answer(Client(app.wsgi_app), BOARD, tokens.user(user, "student",
                                                                        cohort_id=1))
    assert status == "200 OK", body
    return body


def kept_blocks(app) -> int:
    return len(app.extensions["gamification.blocks"].kept)


def test_a_kept_page_shows_a_new_name_at_once(pair, game, tokens):
    sql, cached = pair
    for _ in range(3):
        assert board(cached, tokens) == board(sql, tokens)
    assert kept_blocks(cached) == 1
    game.player(3, name="Renamed")
    assert b'"Renamed"' in board(cached, tokens)
    assert board(cached, tokens) == board(sql, tokens)


def test_a_kept_page_shows_an_award_and_its_streak_at_once(pair, game, tokens):
    sql, cached = pair
    board(cached, tokens)
    board(cached, tokens)
    now = datetime.now(UTC).isoformat()
    game.award(game.points(5, 1, ref="today", at=now))  # same points order: a new streak
    fresh = board(cached, tokens)
    assert b'"user_id":5,"display_name":"P5","points":6,"streak":1' in fresh
    assert fresh == board(sql, tokens)


def test_a_kept_page_shows_a_sync_at_once(pair, sync_app, leetcode, game, tokens):
    sql, cached = pair
    leetcode.add_user("ada", [days_ago(d) for d in (0, 1, 2)])
    game.player(4, name="P4", leetcode="ada")
    board(cached, tokens)
    before = board(cached, tokens)
    assert b'"user_id":4,"display_name":"P4","points":4,"streak":0' in before
    assert run(sync_app(CACHE_URL=cached.config["CACHE_URL"])).exit_code == 0
    fresh = board(cached, tokens)
    assert b'"user_id":4,"display_name":"P4","points":4,"streak":3' in fresh
    assert fresh == board(sql, tokens)


def test_a_kept_page_ends_at_a_local_midnight(pair, game, tokens, monkeypatch):
    """A streak counts through the day after its last active day and ends at the next local
    midnight: a page kept before it is not shown after it."""
    sql, cached = pair
    game.player(2, name="P2", tz="Pacific/Kiritimati")  # UTC+14
    game.award(game.points(2, 10, ref="active", at=datetime.now(UTC).isoformat()))
    active = datetime.now(UTC).astimezone(zone("Pacific/Kiritimati")).date()
    midnight = datetime.combine(active + timedelta(days=2), datetime.min.time(),
                                zone("Pacific/Kiritimati")).astimezone(UTC)
    monkeypatch.setattr(leaderboard, "utcnow", lambda: midnight - timedelta(seconds=1))
    board(cached, tokens)
    assert b'"user_id":2,"display_name":"P2","points":12,"streak":1' in board(cached, tokens)
    monkeypatch.setattr(leaderboard, "utcnow", lambda: midnight)
    after = board(cached, tokens)
    assert b'"user_id":2,"display_name":"P2","points":12,"streak":0' in after
    assert after == board(sql, tokens)
