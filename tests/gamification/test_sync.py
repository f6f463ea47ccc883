"""The LeetCode sync against a real HTTP stand-in: aliases, the shared rate limit in every
one-second window, retries, the breaker, unknown users, and streaks a failure never touches."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.gamification.db import db
from services.gamification.sync import sync_players
from shared.config import ROOT
from tests.support.leetcode import CHALLENGE

STREAK = "/api/gamification/players/{}/streak"


def days_ago(days: int, hour: int = 12) -> int:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0) - timedelta(days=days)
    return int(moment.timestamp())


def run(app, *args):
    return app.test_cli_runner().invoke(args=["sync-leetcode-streaks", *args])


def streak(client, tokens, user):
    return client.get(STREAK.format(user), headers=tokens.user(user, "admin")).json


def count(app, table):
    with app.app_context():
        return db.value(text(f"SELECT COUNT(*) FROM {table}"))


def test_a_sync_stores_submissions_and_makes_streaks_and_twice_changes_nothing(
        sync_app, game, leetcode, tokens):
    app = sync_app()
    leetcode.add_user("ada", [days_ago(d) for d in (0, 1, 2, 4)] + [days_ago(1, 15)])
    game.player(1, leetcode="ada", tz="Asia/Kolkata")
    game.player(2)  # no username: not asked about
    result = run(app)
    assert result.exit_code == 0 and "1 synced" in result.output, result.output
    client = app.test_client()
    first = streak(client, tokens, 1)
    assert (first["current"], first["longest"]) == (3, 3)
    assert first["last_sync"]["ok"] is True and first["last_sync"]["error"] is None
    rows = (count(app, "submissions"), count(app, "activity_days"), count(app, "calendar_days"))
    assert rows[0] == 5
    assert run(app).exit_code == 0
    assert (count(app, "submissions"), count(app, "activity_days"),
            count(app, "calendar_days")) == rows
    again = streak(client, tokens, 1)
    assert (again["current"], again["longest"]) == (3, 3)
    assert leetcode.asked == [["ada"], ["ada"]]


def test_several_players_share_a_request_through_aliases(sync_app, game, leetcode):
    for user in range(1, 24):
        leetcode.add_user(f"u{user}", [days_ago(0)], first_id=user * 100)
        game.player(user, leetcode=f"u{user}")
    assert "23 synced" in run(sync_app(LEETCODE_BATCH_SIZE="10")).output
    assert sorted(len(names) for names in leetcode.asked) == [3, 10, 10]
    leetcode.asked.clear()
    assert "23 synced" in run(sync_app(LEETCODE_BATCH_SIZE="1")).output
    assert len(leetcode.asked) == 23


@pytest.mark.parametrize("limiter", ["database", "redis"])
def test_the_rate_limit_holds_in_every_one_second_window(request, sync_app, game, leetcode,
                                                         limiter):
    options = {"CACHE_URL": request.getfixturevalue("redis_url")} if limiter == "redis" else {}
    leetcode.delay = 0.05
    for user in range(1, 31):
        leetcode.add_user(f"u{user}", [days_ago(0)], first_id=user * 100)
        game.player(user, leetcode=f"u{user}")
    started = time.monotonic()
    result = run(sync_app(LEETCODE_RATE="12/1", LEETCODE_BATCH_SIZE="1", **options))
    assert "30 synced" in result.output, result.output
    assert len(leetcode.arrivals) == 30
    assert leetcode.max_in_window(1.0) <= 12
    assert time.monotonic() - started >= 2  # 30 requests at 12 a second: two full windows


def test_the_rate_limit_is_shared_across_processes(sync_app, game, leetcode, database_url,
                                                   tokens):
    for user in range(1, 26):
        leetcode.add_user(f"u{user}", [days_ago(0)], first_id=user * 100)
        game.player(user, leetcode=f"u{user}")
    env = {**os.environ, "DATABASE_URL": database_url, "LEETCODE_GRAPHQL_URL": leetcode.url,
           "LEETCODE_RATE": "10/1", "LEETCODE_BATCH_SIZE": "1", "CACHE_URL": "null://"}
    other = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "services.gamification",
         "sync-leetcode-streaks"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    app = sync_app(LEETCODE_RATE="10/1", LEETCODE_BATCH_SIZE="1")
    client = app.test_client()
    for user in range(1, 6):  # an admin's syncs, in this process, while the cron runs
        response = client.post(f"/api/gamification/players/{user}/sync",
                               headers=tokens.user(1_000_000, "admin"))
        assert response.status_code in (200, 502), response.json
    output, _ = other.communicate(timeout=60)
    assert other.returncode == 0, output
    assert len(leetcode.arrivals) >= 25
    assert leetcode.max_in_window(1.0) <= 10


def test_429_honours_retry_after_and_5xx_is_retried(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    leetcode.then(429, headers={"Retry-After": "1"})
    leetcode.then(500, body="oops", content_type="text/plain")
    leetcode.then(503, body="<html>down</html>", content_type="text/html")
    app = sync_app(LEETCODE_RETRIES="3")
    assert "1 synced" in run(app).output
    assert len(leetcode.arrivals) == 4
    assert leetcode.arrivals[1] - leetcode.arrivals[0] >= 1.0
    assert streak(app.test_client(), tokens, 1)["current"] == 1


def test_a_failure_never_changes_a_streak(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(d) for d in range(3)])
    game.player(1, leetcode="ada")
    app = sync_app()
    run(app)
    client = app.test_client()
    before = streak(client, tokens, 1)
    leetcode.then(500, times=3)
    result = run(app)
    assert result.exit_code == 0 and "1 failed" in result.output
    after = streak(client, tokens, 1)
    assert after["last_sync"]["ok"] is False and "HTTP 500" in after["last_sync"]["error"]
    assert {k: after[k] for k in ("current", "longest", "last_active_date", "as_of")} == {
        k: before[k] for k in ("current", "longest", "last_active_date", "as_of")}


def test_a_slow_answer_times_out_and_is_retried(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    leetcode.delay = 1.0
    app = sync_app(LEETCODE_TIMEOUT="0.3", LEETCODE_RETRIES="1")
    assert "1 failed" in run(app).output
    assert len(leetcode.arrivals) == 2
    assert "Timeout" in streak(app.test_client(), tokens, 1)["last_sync"]["error"]


@pytest.mark.parametrize(("status", "body", "kind"), [
    (403, CHALLENGE, "text/html"), (200, CHALLENGE, "text/html; charset=utf-8"),
    (403, '{"error": "forbidden"}', "application/json")])
def test_a_block_opens_the_breaker_and_ends_the_run(sync_app, game, leetcode, status, body,
                                                    kind, tokens):
    for user in range(1, 31):
        leetcode.add_user(f"u{user}", [days_ago(0)], first_id=user * 100)
        game.player(user, leetcode=f"u{user}")
    leetcode.then(status, body=body, content_type=kind)
    app = sync_app(LEETCODE_RATE="5/1", LEETCODE_BATCH_SIZE="1")
    result = run(app)
    assert result.exit_code == 2, result.output
    assert len(leetcode.arrivals) <= 5  # the first window's requests at most, not 30
    again = run(app)
    assert again.exit_code == 2 and "breaker" in again.output
    assert len(leetcode.arrivals) <= 5
    response = app.test_client().post("/api/gamification/players/1/sync",
                                      headers=tokens.user(1_000_000, "admin"))
    assert response.status_code == 502


def test_an_unknown_username_is_recorded_and_not_asked_every_run(sync_app, game, leetcode,
                                                                 tokens, app):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    game.player(2, leetcode="ghost")
    sync = sync_app()
    assert "1 unknown" in run(sync).output
    ghost = streak(sync.test_client(), tokens, 2)["last_sync"]
    assert ghost["ok"] is False and "no user 'ghost'" in ghost["error"]
    leetcode.asked.clear()
    run(sync)
    assert leetcode.asked == [["ada"]]
    game.player(2, leetcode="ghost2")  # a new username is asked about at once
    leetcode.asked.clear()
    run(sync)
    assert sorted(leetcode.asked[0]) == ["ada", "ghost2"]
    with sync.app_context(), db.transaction() as conn:
        conn.execute(text("UPDATE players SET leetcode_username = 'ghost', unknown_username = "
                          "'ghost', sync_at = :old WHERE user_id = 2"),
                     {"old": datetime.now(UTC) - timedelta(days=8)})
    leetcode.asked.clear()
    run(sync)
    assert sorted(leetcode.asked[0]) == ["ada", "ghost"]  # asked again after a week


def test_a_malformed_calendar_fails_only_that_player(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    leetcode.add_user("bob", [days_ago(0)], calendar='{"12": "many"', first_id=50)
    game.player(1, leetcode="ada")
    game.player(2, leetcode="bob")
    app = sync_app()
    assert "1 synced, 1 failed" in run(app).output
    bob = streak(app.test_client(), tokens, 2)
    assert bob["current"] == 0 and "malformed" in bob["last_sync"]["error"]


def test_calendar_history_before_the_recent_list(sync_app, game, leetcode, tokens):
    history = [days_ago(d) for d in (10, 9, 8)]
    recent = [days_ago(d) for d in (1, 0)]
    leetcode.add_user("ada", recent)
    leetcode.users["ada"]["calendar"] = leetcode.users["ada"]["calendar"][:-1] + ", " + \
        ", ".join(f'"{d - d % 86400}": 1' for d in history) + "}"
    game.player(1, leetcode="ada")
    app = sync_app()
    run(app)
    result = streak(app.test_client(), tokens, 1)
    assert (result["current"], result["longest"]) == (2, 3)


def test_a_new_time_zone_recomputes_days_from_stored_timestamps(sync_app, game, leetcode,
                                                                 tokens):
    late = int(datetime.now(UTC).replace(hour=23, minute=30, second=0).timestamp()) - 86400 * 3
    leetcode.add_user("ada", [late, late - 86400])
    game.player(1, leetcode="ada", tz="UTC")
    app = sync_app()
    run(app)
    client = app.test_client()
    headers = tokens.user(1, "student", cohort_id=1)
    before = client.get("/api/gamification/players/1/activity", headers=headers).json["days"]
    game.player(1, leetcode="ada", tz="Asia/Tokyo")
    after = client.get("/api/gamification/players/1/activity", headers=headers).json["days"]
    shift = [(datetime.fromisoformat(b["date"]) + timedelta(days=1)).date().isoformat()
             for b in before]
    assert [a["date"] for a in after] == shift
    assert leetcode.asked == [["ada"]]  # from what was stored, not a new fetch


def test_the_players_own_sync_is_limited_to_one_attempt_in_five_minutes(sync_app, game,
                                                                        leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    game.player(2)
    app, other_worker = sync_app(), sync_app()
    me = tokens.user(1, "student", cohort_id=1)
    url = "/api/gamification/players/me/sync"
    first = app.test_client().post(url, headers=me)
    assert first.status_code == 200 and first.json["current"] == 1
    again = other_worker.test_client().post(url, headers=me)
    assert again.status_code == 429 and 0 < int(again.headers["Retry-After"]) <= 300
    admin = tokens.user(1_000_000, "admin")
    for _ in range(2):
        assert app.test_client().post("/api/gamification/players/1/sync",
                                      headers=admin).status_code == 200
    client = app.test_client()
    assert client.post("/api/gamification/players/1/sync",
                       headers=tokens.user(900001, "mentor", cohort_id=1)).status_code == 403
    assert client.post("/api/gamification/players/1/sync",
                       headers=tokens.user(2, "student", cohort_id=1)).status_code == 404
    assert client.post("/api/gamification/players/2/sync", headers=admin).status_code == 409


def test_a_failed_own_sync_is_502_and_still_counts(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    leetcode.then(500, times=3)
    app = sync_app()
    me = tokens.user(1, "student", cohort_id=1)
    failed = app.test_client().post("/api/gamification/players/1/sync", headers=me)
    assert failed.status_code == 502 and failed.content_type == "application/problem+json"
    assert streak(app.test_client(), tokens, 1)["current"] == 0
    assert app.test_client().post("/api/gamification/players/1/sync",
                                  headers=me).status_code == 429


def test_with_async_tasks_a_sync_is_queued_for_the_next_run(sync_app, game, leetcode, tokens):
    leetcode.add_user("ada", [days_ago(0)])
    leetcode.add_user("bob", [days_ago(0)])
    game.player(1, leetcode="ada")
    game.player(2, leetcode="bob")
    app = sync_app(USE_ASYNC_TASKS="on")
    queued = app.test_client().post("/api/gamification/players/me/sync",
                                    headers=tokens.user(1, "student", cohort_id=1))
    assert queued.status_code == 202 and queued.json == {"queued": True}
    assert leetcode.asked == []
    assert "1 synced" in run(app, "--requested").output
    assert leetcode.asked == [["ada"]]
    assert "0 players" in run(app, "--requested").output


def test_dry_run_asks_nothing(sync_app, game, leetcode):
    game.player(1, leetcode="ada")
    result = run(sync_app(), "--dry-run")
    assert "would sync 1 players" in result.output and leetcode.asked == []


def test_sync_players_in_process(sync_app, game, leetcode):
    leetcode.add_user("ada", [days_ago(0)])
    game.player(1, leetcode="ada")
    app = sync_app()
    with app.app_context():
        report = sync_players(user_ids=[1])
    assert (report.players, report.synced) == (1, 1)
