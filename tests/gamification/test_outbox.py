"""Notifications through the outbox, delivered to a real notifications service, and the
update-seasons command: frozen once, final ranks sent exactly once even across an outage."""

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from services.gamification import outbox, seasons
from services.gamification.db import db
from services.notifications import create_app as notifications_app
from shared.db import isoformat_z, utcnow
from tests.gamification.test_sync import days_ago
from tests.support.databases import migrate
from tests.support.servers import closed_port


class Notifications:
    """The real notifications service on a loopback port, stoppable and startable."""

    def __init__(self, database: str, port: int):
        self.app = notifications_app({"DATABASE_URL": database, "CACHE_URL": "null://"})
        self.port, self.server = port, None

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def rows(self):
        with self.app.app_context():
            return db_rows(self.app, "SELECT user_id, category, title, dedupe_key FROM "
                                     "notifications ORDER BY user_id, id")


def db_rows(app, sql):
    database = app.extensions["sqlalchemy"]
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.fixture
def notifications(tmp_path):
    url = f"sqlite:///{tmp_path / 'notifications.db'}"
    migrate(notifications_app, url)
    service = Notifications(url, closed_port())
    service.start()
    yield service
    service.stop()


@pytest.fixture
def wired(make_app, notifications):
    return make_app(SERVICES_URL=f"http://127.0.0.1:{notifications.port}",
                    HTTP_CONNECT_TIMEOUT="0.5", HTTP_READ_TIMEOUT="2")


def pending(app):
    with app.app_context():
        return db.value(text("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"))


def test_a_seventh_day_queues_a_milestone_in_the_awards_transaction(wired, game, notifications):
    game.player(1)
    game.award(*(game.points(1, 1, ref=f"d{n}", at=isoformat_z(utcnow() - timedelta(days=n)))
                 for n in range(1, 7)))
    assert pending(wired) == 0
    game.award(game.points(1, 1, ref="today", at=isoformat_z(utcnow())))
    assert pending(wired) == 1
    result = wired.test_cli_runner().invoke(args=["deliver-notifications"])
    assert "delivered 1" in result.output, result.output
    [(user, category, title, key)] = notifications.rows()
    assert (user, category, title) == (1, "streak", "7-day streak!")
    assert key.startswith("gamification:streak-milestone:1:")


def test_a_lost_streak_of_seven_days_is_told_once(make_app, game, notifications):
    from tests.support.leetcode import StandIn

    server = StandIn()
    try:
        server.add_user("ada", [days_ago(d) for d in range(3, 12)])
        game.player(1, leetcode="ada")
        app = make_app(LEETCODE_GRAPHQL_URL=server.url,
                       SERVICES_URL=f"http://127.0.0.1:{notifications.port}")
        for _ in range(2):
            result = app.test_cli_runner().invoke(args=["sync-leetcode-streaks"])
            assert result.exit_code == 0, result.output
        assert "0 lost" in result.output
        with app.app_context():
            payloads = db_rows(app, "SELECT payload FROM outbox ORDER BY id")
        assert [json.loads(p)["title"] for (p,) in payloads] == ["Your 9-day streak ended"]
    finally:
        server.close()


def test_delivery_retries_with_backoff_until_accepted(make_app, game, notifications):
    port = notifications.port
    notifications.stop()
    game.player(1)
    app = make_app(SERVICES_URL=f"http://127.0.0.1:{port}", HTTP_CONNECT_TIMEOUT="0.3")
    with app.app_context(), db.transaction() as conn:
        outbox.queue(conn, [outbox.message("e1", [1], kind="dashboard", category="c",
                                           title="Hello", dedupe_key="gamification:e1")])
    runner = app.test_cli_runner()
    assert "failed 1" in runner.invoke(args=["deliver-notifications"]).output
    with app.app_context():
        attempts, error = db_rows(app, "SELECT attempts, last_error FROM outbox")[0]
    assert attempts == 1 and error
    assert "delivered 0, failed 0" in runner.invoke(args=["deliver-notifications"]).output
    notifications.start()
    assert "delivered 1" in runner.invoke(args=["deliver-notifications", "--retry-now"]).output
    assert pending(app) == 0
    assert [r[3] for r in notifications.rows()] == ["gamification:e1"]


def test_a_redelivery_never_doubles_a_notification(wired, game, notifications):
    game.player(1)
    with wired.app_context(), db.transaction() as conn:
        outbox.queue(conn, [outbox.message("e2", [1], kind="profile", category="c",
                                           title="Once", dedupe_key="gamification:e2")])
    with wired.app_context():
        assert outbox.deliver().delivered == 1
        with db.transaction() as conn:  # the process died after the POST; the lease ran out
            conn.execute(text("UPDATE outbox SET delivered_at = NULL, next_attempt_at = :t"),
                         {"t": utcnow() - timedelta(seconds=1)})
        assert outbox.deliver().delivered == 1
    assert len(notifications.rows()) == 1


def make_closed_season(game, players=5):
    for user in range(1, players + 1):
        game.player(user, cohort=1 if user <= 3 else 2)
    season = game.season("Autumn", starts=isoformat_z(utcnow() - timedelta(days=20)),
                         ends=isoformat_z(utcnow() - timedelta(hours=1)))
    at = isoformat_z(utcnow() - timedelta(days=3))
    game.award(game.points(1, 10, at=at), game.points(2, 10, at=at), game.points(4, 3, at=at))
    return season


def test_update_seasons_freezes_once_and_sends_every_final_rank_once(wired, game,
                                                                     notifications):
    season = make_closed_season(game)
    runner = wired.test_cli_runner()
    dry = runner.invoke(args=["update-seasons", "--dry-run"])
    assert f"would freeze 1 seasons: {season['id']}" in dry.output
    first = runner.invoke(args=["update-seasons", "--verbose"])
    assert "froze 1 seasons" in first.output and "5 players ranked" in first.output
    second = runner.invoke(args=["update-seasons"])
    assert "froze 0 seasons" in second.output
    rows = notifications.rows()
    assert [(u, t) for u, _, t, _ in rows] == [
        (1, "You finished #1 in Autumn"), (2, "You finished #1 in Autumn"),
        (3, "You finished #3 in Autumn"), (4, "You finished #1 in Autumn"),
        (5, "You finished #2 in Autumn")]
    assert {k for *_, k in rows} == {f"gamification:season-final:{season['id']}"}
    with wired.app_context():
        assert db.value(text("SELECT COUNT(*) FROM standings")) == 5


def test_update_seasons_with_now_and_a_season_not_ended(wired, game):
    game.player(1)
    season = game.season("Running", starts=isoformat_z(utcnow() - timedelta(days=1)),
                         ends=isoformat_z(utcnow() + timedelta(days=1)))
    runner = wired.test_cli_runner()
    assert "froze 0" in runner.invoke(args=["update-seasons"]).output
    later = isoformat_z(utcnow() + timedelta(days=2))
    assert "froze 1" in runner.invoke(args=["update-seasons", "--now", later]).output
    assert game.board(1, season=season["id"])["season"]["frozen"] is True
    bad = runner.invoke(args=["update-seasons", "--now", "2026-01-01T00:00:00"])
    assert bad.exit_code != 0 and "offset" in bad.output


def test_two_copies_freezing_at_once_store_the_standings_once(wired, game, make_app):
    season = make_closed_season(game, players=40)
    results = []

    def freeze():
        other = make_app()
        with other.app_context():
            results.append(seasons.freeze(season["id"], utcnow()))

    threads = [threading.Thread(target=freeze) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [40, None, None]
    with wired.app_context():
        assert db.value(text("SELECT COUNT(*) FROM standings")) == 40
        assert db.value(text("SELECT COUNT(*) FROM outbox")) == 4  # a message per rank and board


def test_outbox_backlog_warns_in_readiness(make_app, game):
    game.player(1)
    app = make_app(OUTBOX_MAX_AGE="1", SERVICES_URL=f"http://127.0.0.1:{closed_port()}")
    with app.app_context(), db.transaction() as conn:
        outbox.queue(conn, [outbox.message("old", [1], kind="dashboard", category="c",
                                           title="Late", dedupe_key="gamification:old")],
                     utcnow() - timedelta(minutes=5))
    report = app.test_client().get("/health/ready/")
    assert report.status_code == 200
    check = report.json["checks"]["outbox:responseTime"][0]
    assert report.json["status"] == "warn" and check["status"] == "warn"
    assert "deliver-notifications" in check["output"]
