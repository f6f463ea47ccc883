"""Query budgets: every endpoint takes a fixed number of queries however much data grows."""

from datetime import timedelta

import pytest

from services.gamification import leaderboard, seasons
from shared.db import isoformat_z, utcnow
from shared.observability import count_queries

PLAYERS = "/api/gamification/players"


def grow(game, first: int, count: int, awards_each: int):
    """Players first..first+count-1 in cohort 1, each with awards over recent days."""
    for user in range(first, first + count):
        game.player(user, tz=("UTC", "Asia/Kolkata", "America/New_York")[user % 3])
    now = utcnow()
    game.award(*(game.points(u, (u * 7 + n) % 40 + 1, ref=f"g{u}-{n}",
                             at=isoformat_z(now - timedelta(days=n, hours=u % 5)))
                 for u in range(first, first + count) for n in range(awards_each)))


def queries(client, method, path, headers, **kwargs) -> int:
    with count_queries() as stats:
        response = getattr(client, method)(path, headers=headers, **kwargs)
    assert response.status_code < 300, response.json
    return stats.count


@pytest.fixture
def closed_season(game, app):
    season = game.season("Closed", starts=isoformat_z(utcnow() - timedelta(days=30)),
                         ends=isoformat_z(utcnow() - timedelta(days=20)))
    game.season("Running", starts=isoformat_z(utcnow() - timedelta(days=20)))
    return season


READS = [
    ("/api/gamification/leaderboard?limit=50", 2),
    ("/api/gamification/leaderboard?around=me&limit=9", 3),
    ("/api/gamification/leaderboard?offset=1&limit=5", 2),
    (f"{PLAYERS}/2", 1),
    (f"{PLAYERS}/me/streak", 1),
    (f"{PLAYERS}/2/activity", 2),
    ("/api/gamification/seasons", 1),
    ("/api/gamification/seasons?cohort=1&status=closed", 1),
    ("/api/gamification/seasons/current", 1),
]


@pytest.mark.parametrize(("path", "budget"), READS)
def test_reads_take_a_fixed_budget_as_data_grows(app, game, client, closed_season, path,
                                                 budget):
    counts = []
    for first, count, each in ((1, 3, 2), (4, 40, 6)):
        grow(game, first, count, each)
        counts.append(queries(client, "get", path, game.student(2)))
    assert counts == [budget, budget]


@pytest.mark.parametrize("path", [r[0] for r in READS[:3]])
def test_a_page_of_kept_blocks_takes_one_statement(app, game, client, closed_season, path):
    """The season, its board's version and the caller's place; the entries were kept from
    the first answer, and where each of their players stands (a window around the caller
    without Redis: first the season, the caller's place among those tied with them and the
    blocks)."""
    grow(game, 1, 40, 3)
    first = queries(client, "get", path, game.student(2))
    again = queries(client, "get", path, game.student(3))
    assert (first, again) == (3 if "around" in path else 2, 1)


def test_a_window_in_a_tie_too_large_to_count_takes_two_statements(app, game, client,
                                                                   closed_season, monkeypatch):
    """The season, then the window read whole; once a page kept the caller's blocks, one."""
    monkeypatch.setattr(leaderboard, "TIES_COUNTED", 0)
    grow(game, 1, 40, 3)
    window, page = ("/api/gamification/leaderboard?around=me&limit=9",
                    "/api/gamification/leaderboard?offset=30&limit=5")
    counts = [queries(client, "get", path, game.student(2)) for path in (window, page, window)]
    assert counts == [2, 2, 1]


def test_a_frozen_board_takes_the_same_budget(app, game, client, closed_season):
    counts = []
    for first, count, each in ((1, 3, 2), (4, 40, 2)):
        grow(game, first, count, each)
        counts.append(queries(client, "get", "/api/gamification/leaderboard?limit=50"
                              f"&season={closed_season['id']}", game.student(2)))
    with app.app_context():
        seasons.freeze(closed_season["id"], utcnow())
    for params in ("limit=50", "around=me&limit=7"):
        counts.append(queries(client, "get", f"/api/gamification/leaderboard?{params}"
                              f"&season={closed_season['id']}", game.student(2)))
    assert counts == [2, 2, 2, 2]


def test_writes_take_a_fixed_budget_as_data_and_batches_grow(app, game, client, closed_season):
    counts = {"award": [], "put": [], "update": [], "batch": []}
    for first, count, each in ((1, 3, 1), (4, 40, 6)):
        grow(game, first, count, each)
        batch = [game.points(u, 3, ref=f"b{first}-{u}", at=isoformat_z(utcnow()))
                 for u in range(1, first + count)]
        counts["award"].append(queries(client, "post", "/internal/gamification/points",
                                       game.tokens.service, json={"awards": batch}))
        counts["put"].append(queries(
            client, "put", f"/internal/gamification/players/{first + 500}", game.tokens.service,
            json={"cohort_id": 1, "display_name": "New", "leetcode_username": None,
                  "timezone": "UTC"}))
        counts["update"].append(queries(
            client, "put", f"/internal/gamification/players/{first}", game.tokens.service,
            json={"cohort_id": 2, "display_name": "Moved", "leetcode_username": None,
                  "timezone": "Asia/Tokyo"}))
        counts["batch"].append(queries(client, "post", "/internal/gamification/players/batch",
                                       game.tokens.service,
                                       json={"user_ids": list(range(1, first + count))}))
    # Upper bounds counted from the code paths, whatever the data: an award batch takes the
    # seasons lock, players, seasons, the ledger insert, totals (read, update, insert),
    # boards, buckets (upsert, emptied), days (read, upsert, history), runs and the outbox;
    # a moved player (new cohort and zone) also re-places them and rebuilds their days.
    budgets = {"award": 15, "put": 10, "update": 22, "batch": 1}
    for name, found in counts.items():
        assert max(found) <= budgets[name], (name, found)


def test_season_changes_take_a_fixed_budget(app, game, client):
    counts = []
    for first, count, each in ((1, 3, 1), (4, 40, 3)):
        grow(game, first, count, each)
        starts = isoformat_z(utcnow() + timedelta(days=10 * first))
        created = client.post("/api/gamification/seasons", headers=game.admin, json={
            "name": f"S{first}", "cohort_id": None, "starts_at": starts,
            "ends_at": isoformat_z(utcnow() + timedelta(days=10 * first + 5))})
        assert created.status_code == 201
        counts.append(queries(client, "patch", f"/api/gamification/seasons/{created.json['id']}",
                              game.admin, json={"starts_at": isoformat_z(
                                  utcnow() + timedelta(days=10 * first + 1))}))
    assert counts[0] == counts[1]
