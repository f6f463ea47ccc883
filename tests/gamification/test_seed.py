"""The demo seed: players with streaks, a running and a frozen season, idempotent."""

from sqlalchemy import text

from services.gamification.db import db
from services.gamification.seed import seed_demo


def count(app, table):
    with app.app_context():
        return db.value(text(f"SELECT COUNT(*) FROM {table}"))


def test_the_demo_gives_a_new_user_a_real_leaderboard(app, client, tokens):
    with app.app_context():
        dry = seed_demo(60, dry_run=True)
        assert dry.players == 60 and count(app, "players") == 0
        report = seed_demo(60)
        assert report.players == 60 and report.seasons == 2 and report.awards > 0
        assert seed_demo(60).players == 0  # a second run adds nothing
    me = tokens.user(1, "student", cohort_id=1)
    board = client.get("/api/gamification/leaderboard", headers=me).json
    assert board["total"] == 25 and board["season"]["status"] == "active"
    assert board["me"]["points"] >= 0 and len({e["points"] for e in board["entries"]}) > 1
    listed = client.get("/api/gamification/seasons", headers=me).json["items"]
    assert [(s["status"], s["frozen"]) for s in listed] == [("active", False), ("closed", True)]
    frozen = client.get(f"/api/gamification/leaderboard?season={listed[1]['id']}",
                        headers=me).json
    assert frozen["total"] == 25 and frozen["entries"][0]["rank"] == 1
    streak = client.get("/api/gamification/players/me/streak", headers=me).json
    assert streak["current"] >= 12 and streak["last_sync"]["ok"] is True
    assert count(app, "outbox") == count(app, "outbox WHERE delivered_at IS NOT NULL")


def test_reset_starts_over(app, runner):
    result = runner.invoke(args=["seed-demo", "--students", "30"])
    assert "created 30 players" in result.output, result.output
    again = runner.invoke(args=["seed-demo", "--students", "30", "--reset"])
    assert "created 30 players" in again.output
    assert count(app, "players") == 30 and count(app, "seasons") == 2
