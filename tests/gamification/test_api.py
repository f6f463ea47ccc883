"""The gamification API as the contract describes it: players, points, seasons, leaderboards."""

from datetime import timedelta

import pytest

from services.gamification import leaderboard, seasons
from services.gamification.leaderboard import statement_params
from services.gamification.leaderboard_sql import PAGE, SPAN
from shared.db import isoformat_z, utcnow

PLAYERS = "/api/gamification/players"
ADMIN_ID = 1_000_000


def freeze(app, season_id):
    with app.app_context():
        return seasons.freeze(season_id, utcnow() + timedelta(days=1))


def ranks(board):
    return [(e["rank"], e["user_id"], e["points"]) for e in board["entries"]]


@pytest.fixture
def cohort(game):
    """Seven players of cohort 1 with ties, one of cohort 2, and a running season."""
    for user in range(1, 8):
        game.player(user, cohort=1)
    game.player(50, cohort=2)
    season = game.season("Spring")
    game.award(*(game.points(u, p) for u, p in ((2, 20), (5, 20), (1, 10), (4, 10), (7, 10),
                                                 (6, -5))))
    return season


def test_the_board_ranks_every_player_with_shared_ranks(game, cohort):
    board = game.board(3)
    assert board["season"]["id"] == cohort["id"] and board["season"]["status"] == "active"
    assert board["cohort_id"] == 1 and board["total"] == 7
    assert ranks(board) == [(1, 2, 20), (1, 5, 20), (3, 1, 10), (3, 4, 10), (3, 7, 10),
                            (6, 3, 0), (7, 6, -5)]
    assert board["me"] == {"rank": 6, "points": 0, "tied_with": 0}
    assert game.board(4)["me"] == {"rank": 3, "points": 10, "tied_with": 2}
    assert board["entries"][0] == {"rank": 1, "user_id": 2, "display_name": "Player 2",
                                   "points": 20, "streak": 0}


def test_pages_by_offset_and_limit(game, cohort):
    assert ranks(game.board(1, limit=2, offset=2)) == [(3, 1, 10), (3, 4, 10)]
    assert ranks(game.board(1, limit=3, offset=5)) == [(6, 3, 0), (7, 6, -5)]
    assert game.board(1, offset=7)["entries"] == []


@pytest.mark.parametrize(("user", "limit", "expected"), [
    (1, 3, [5, 1, 4]),   # middle: one before, one after
    (1, 4, [5, 1, 4, 7]),  # ⌊3/2⌋ = 1 before, two after
    (2, 3, [2, 5, 1]),   # the top: shifted down so the window stays full
    (6, 3, [7, 3, 6]),   # the bottom: shifted up
    (3, 10, [2, 5, 1, 4, 7, 3, 6]),  # more than everyone
])
@pytest.mark.parametrize("placed", ["counted", "read", "kept"])
def test_around_me(game, cohort, user, limit, expected, placed, monkeypatch):
    """The window placed by a count of the caller's ties, read whole by the database (a tie
    too large to count), or placed from the blocks a page kept."""
    if placed == "read":
        monkeypatch.setattr(leaderboard, "TIES_COUNTED", 0)
    elif placed == "kept":
        game.board(user)
    board = game.board(user, around="me", limit=limit)
    assert [e["user_id"] for e in board["entries"]] == expected
    assert user in [e["user_id"] for e in board["entries"]]


def test_a_run_read_from_a_player_is_the_page_at_its_offset(app, game):
    """SPAN, a run of the board read from where a player stands (index ranges next to them),
    gives what PAGE gives at the run's offset: the run before them, around them, after
    them, at either end of the board, through ties."""
    for user in range(1, 61):
        game.player(user)
    season = game.season("Spring")
    game.award(*(game.points(u, u * 7 % 5 * 10 + 5) for u in range(1, 61)))  # ties of 12
    with app.app_context():
        board = statement_params(season["id"], 1, 60, 0, None, 60)
        order = [e[1] for e in leaderboard.live(PAGE, board)[0]]
        for position in (0, 13, 30, 59):
            params = statement_params(season["id"], 1, 7, 0, order[position], 60)
            for at in {0, 5, max(0, position - 9), max(0, position - 3), position, 40, 53, 57}:
                run = leaderboard.live(SPAN, {**params, **leaderboard.span(position, at, 7)})
                page = leaderboard.live(PAGE, {**params, "offset": at, "limit": 7})
                assert run[0] == page[0], (position, at)


def test_me_is_null_for_someone_not_on_the_board(game, cohort):
    mentor = game.board(900001, role="mentor")
    assert mentor["me"] is None and mentor["total"] == 7
    assert ranks(game.board(900001, role="mentor", around="me", limit=2)) == [(1, 2, 20),
                                                                              (1, 5, 20)]
    assert game.board(ADMIN_ID, role="admin", claim=None, cohort=2)["total"] == 1


def test_students_see_only_their_cohort_and_others_see_any(game, cohort):
    problem = game.board(1, status=403, cohort=2)
    assert problem["status"] == 403
    assert game.board(900001, role="mentor", cohort=2)["total"] == 1
    assert game.board(ADMIN_ID, role="admin", claim=None, status=400)["errors"]["cohort"]


def test_no_active_season_is_404_and_a_season_id_is_accepted(game):
    game.player(60, cohort=3)
    game.player(70, cohort=4)
    past = game.season("Old", cohort=3, starts="2019-01-01T00:00:00Z",
                       ends="2019-02-01T00:00:00Z")
    own = game.season("Own", cohort=4, starts="2019-01-01T00:00:00Z", ends="2019-02-01T00:00:00Z")
    assert game.board(70, claim=4, status=404)["status"] == 404
    assert game.board(70, claim=4, season=own["id"])["total"] == 1
    assert game.board(60, claim=3, season=past["id"])["season"]["status"] == "closed"
    assert game.board(70, claim=4, season=past["id"], status=404)  # cohort 3's season
    running = game.season("Everyone", cohort=None, starts="2020-01-01T00:00:00Z")
    assert game.board(900003, role="mentor", claim=3)["season"]["id"] == running["id"]


def test_points_are_idempotent_by_ref_and_kept_in_totals(game, cohort, client, rows):
    again = game.award(game.points(2, 20), game.points(2, 3, ref="new"),
                       game.points(2, 3, ref="new"))
    assert again == {"awarded": 1, "duplicates": 2}
    player = client.get(f"{PLAYERS}/2", headers=game.student(2)).json
    assert player["points"] == {"season": 23, "total": 23}
    assert rows("awards") == 7


def test_an_unknown_player_fails_the_whole_batch(game, cohort, rows):
    before = rows("awards")
    problem = game.award(game.points(1, 5, ref="ok"), game.points(999, 5, ref="nobody"),
                         status=400)
    assert problem["errors"] == [{"index": 1, "ref": "nobody", "detail": "No player 999."}]
    assert rows("awards") == before
    assert game.board(1)["me"]["points"] == 10


def test_awards_outside_every_season_count_toward_total_only(game, cohort, client):
    game.award(game.points(3, 7, at="2019-06-01T00:00:00Z"))
    assert client.get(f"{PLAYERS}/3", headers=game.student(3)).json["points"] == {
        "season": 0, "total": 7}


def test_a_frozen_season_never_changes_and_late_awards_count_toward_total(game, app, client):
    for user in (1, 2, 3):
        game.player(user)
    start = isoformat_z(utcnow() - timedelta(days=10))
    end = isoformat_z(utcnow() - timedelta(days=1))
    season = game.season("Closed", starts=start, ends=end)
    game.award(game.points(1, 5, at=isoformat_z(utcnow() - timedelta(days=5))))
    before = game.board(1, season=season["id"])
    assert before["season"]["frozen"] is False and before["season"]["status"] == "closed"
    assert freeze(app, season["id"]) == 3
    assert freeze(app, season["id"]) is None  # a second run finds it frozen
    game.award(game.points(2, 50, at=isoformat_z(utcnow() - timedelta(days=4))))
    game.player(4)  # a new player does not join a frozen board
    after = game.board(1, season=season["id"])
    assert after["season"]["frozen"] is True
    assert ranks(after) == ranks(before) and after["me"] == before["me"]
    assert after["total"] == 3
    assert client.get(f"{PLAYERS}/2", headers=game.student(2)).json["points"]["total"] == 50
    assert ranks(game.board(3, season=season["id"], around="me", limit=2)) == [(2, 2, 0),
                                                                              (2, 3, 0)]


def test_season_status_follows_the_clock_and_conflicts_are_409(game, client):
    now = utcnow()
    later = game.season("Later", cohort=1, starts=isoformat_z(now + timedelta(days=10)),
                        ends=isoformat_z(now + timedelta(days=20)))
    assert later["status"] == "scheduled"
    conflict = game.season("Clash", cohort=None, starts=isoformat_z(now + timedelta(days=15)),
                           ends=isoformat_z(now + timedelta(days=30)), status=409)
    assert "overlaps" in conflict["detail"]
    other = game.season("Other cohort", cohort=2, starts=isoformat_z(now + timedelta(days=15)),
                        ends=isoformat_z(now + timedelta(days=30)))
    assert other["cohort_id"] == 2
    # Touching ranges do not intersect: [a, b) and [b, c).
    game.season("Next", cohort=1, starts=later["ends_at"],
                ends=isoformat_z(now + timedelta(days=40)))
    game.season("Bad", cohort=5, starts=later["ends_at"], ends=later["starts_at"], status=400)
    listed = client.get("/api/gamification/seasons?cohort=2", headers=game.student(1)).json
    assert [s["name"] for s in listed["items"]] == ["Other cohort"]
    scheduled = client.get("/api/gamification/seasons?status=scheduled",
                           headers=game.student(1)).json["items"]
    assert [s["name"] for s in scheduled] == ["Next", "Other cohort", "Later"]


def test_patch_renames_any_time_and_moves_only_while_scheduled(game, client):
    now = utcnow()
    running = game.season("Now", cohort=1)
    patch = client.patch(f"/api/gamification/seasons/{running['id']}", headers=game.admin,
                         json={"name": "Renamed"})
    assert patch.status_code == 200 and patch.json["name"] == "Renamed"
    moved = client.patch(f"/api/gamification/seasons/{running['id']}", headers=game.admin,
                         json={"ends_at": isoformat_z(now + timedelta(days=3))})
    assert moved.status_code == 409
    later = game.season("Later", cohort=1, starts="2099-02-01T00:00:00Z",
                        ends="2099-03-01T00:00:00Z")
    ok = client.patch(f"/api/gamification/seasons/{later['id']}", headers=game.admin,
                      json={"starts_at": "2099-01-15T00:00:00Z"})
    assert ok.status_code == 200 and ok.json["starts_at"] == "2099-01-15T00:00:00.000000Z"
    clash = client.patch(f"/api/gamification/seasons/{later['id']}", headers=game.admin,
                         json={"starts_at": "2098-01-15T00:00:00Z"})
    assert clash.status_code == 409
    student = client.patch(f"/api/gamification/seasons/{later['id']}",
                           headers=game.student(1), json={"name": "x"})
    assert student.status_code == 403
    assert client.patch("/api/gamification/seasons/999999", headers=game.admin,
                        json={"name": "x"}).status_code == 404


def test_current_season(game, client):
    assert client.get("/api/gamification/seasons/current",
                      headers=game.student(1)).status_code == 404
    season = game.season("Now", cohort=1)
    current = client.get("/api/gamification/seasons/current", headers=game.student(1))
    assert current.json == season
    assert client.get("/api/gamification/seasons/current",
                      headers=game.student(30, cohort=2)).status_code == 404


def test_a_season_created_later_takes_the_awards_in_its_range(game):
    game.player(1)
    game.player(2)
    game.award(game.points(1, 4, at="2025-03-01T00:00:00Z"),
               game.points(2, 9, at="2025-05-01T00:00:00Z"))
    season = game.season("Back-dated", cohort=1, starts="2025-02-01T00:00:00Z",
                         ends="2025-04-01T00:00:00Z")
    assert ranks(game.board(1, season=season["id"])) == [(1, 1, 4), (2, 2, 0)]


def test_a_player_who_changes_cohort_moves_between_boards(game, cohort):
    game.player(2, cohort=2)
    assert game.board(1)["total"] == 6
    moved = game.board(50, claim=2)
    assert ranks(moved) == [(1, 2, 20), (2, 50, 0)]


def test_put_player_creates_then_updates_and_the_same_body_changes_nothing(game, client):
    first = game.player(9, name="Ada", leetcode="ada_l", tz="Asia/Kolkata")
    assert first.status_code == 201 and first.json["user_id"] == 9
    assert game.player(9, name="Ada", leetcode="ada_l", tz="Asia/Kolkata").status_code == 200
    game.player(9, name="Ada L.", leetcode=None, tz="Asia/Kolkata", status=200)
    view = client.get(f"{PLAYERS}/9", headers=game.student(9)).json
    assert view["display_name"] == "Ada L." and view["leetcode_username"] is None
    assert view["streak"]["timezone"] == "Asia/Kolkata"


def test_who_may_see_a_player(game, client, cohort):
    assert client.get(f"{PLAYERS}/me", headers=game.student(3)).json["user_id"] == 3
    assert client.get(f"{PLAYERS}/3", headers=game.student(4)).status_code == 404
    mentor = game.tokens.user(900001, "mentor", cohort_id=1)
    other_mentor = game.tokens.user(900002, "mentor", cohort_id=2)
    assert client.get(f"{PLAYERS}/3/streak", headers=mentor).status_code == 200
    assert client.get(f"{PLAYERS}/3/streak", headers=other_mentor).status_code == 404
    assert client.get(f"{PLAYERS}/3/activity", headers=game.admin).status_code == 200
    assert client.get(f"{PLAYERS}/404", headers=game.admin).status_code == 404


def test_positive_awards_are_active_days_and_make_streaks(game, client):
    game.player(1, tz="Asia/Kolkata")
    today = utcnow()
    game.award(*(game.points(1, 5, ref=f"d{n}", at=isoformat_z(today - timedelta(days=n)))
                 for n in range(0, 3)), game.points(1, -2, ref="minus", at=isoformat_z(today)))
    streak = client.get(f"{PLAYERS}/1/streak", headers=game.student(1)).json
    assert streak["current"] == 3 and streak["longest"] == 3
    days = client.get(f"{PLAYERS}/1/activity", headers=game.student(1)).json["days"]
    assert [d["platform"] for d in days] == [1, 1, 1] and days[-1]["leetcode"] == 0
    assert days == sorted(days, key=lambda d: d["date"])


def test_the_batch_read_for_other_services(game, client, cohort):
    answer = client.post("/internal/gamification/players/batch", headers=game.tokens.service,
                         json={"user_ids": [2, 3, 999]})
    assert answer.status_code == 200
    assert set(answer.json["players"]) == {"2", "3"}
    assert answer.json["players"]["2"]["points"] == {"season": 20, "total": 20}
    assert answer.json["players"]["3"]["streak"]["current"] == 0
