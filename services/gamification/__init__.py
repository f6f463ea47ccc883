"""The gamification service: LeetCode streaks, points, seasons and leaderboards."""

from pathlib import Path

from flask import Flask

from services import SERVICES
from services.gamification import cli, models, routes  # noqa: F401 (models: the tables)
from services.gamification.db import db
from services.gamification.leaderboard import register_blocks
from services.gamification.mirror import register_mirror
from shared.app import create_service_app
from shared.config import Setting, number, url
from shared.db import register_db
from shared.front import register_front_route

MIGRATIONS = str(Path(__file__).parent / "migrations")


def rate(raw: str) -> tuple[int, float]:
    """LEETCODE_RATE: "N/S", at most N requests every S seconds."""
    count, _, seconds = raw.partition("/")
    try:
        parsed = int(count), float(seconds)
    except ValueError:
        raise ValueError("expected N/S, e.g. 20/1 (at most N requests every S seconds)") from None
    if not (1 <= parsed[0] <= 10_000 and 0.01 <= parsed[1] <= 86_400):
        raise ValueError("N must be 1-10000 and S 0.01-86400")
    return parsed


SETTINGS = [
    Setting("LEETCODE_GRAPHQL_URL", url("http", "https"), "https://leetcode.com/graphql",
            "LeetCode's GraphQL endpoint"),
    Setting("LEETCODE_RATE", rate, (1, 1.0),
            "N/S: at most N requests to LeetCode every S seconds, across every process"),
    Setting("LEETCODE_BATCH_SIZE", number(int, 1, 50), 10,
            "players asked about in one GraphQL request (aliases); 1 turns batching off"),
    Setting("LEETCODE_TIMEOUT", number(float, 0.1, 120), 10.0,
            "seconds one LeetCode request may take"),
    Setting("LEETCODE_RETRIES", number(int, 0, 10), 3,
            "retries of a request that got 429, a 5xx or a timeout (jittered backoff)"),
    Setting("LEETCODE_MAX_IN_FLIGHT", number(int, 1, 256), 32,
            "LeetCode requests in flight at once (the rate limit still holds)"),
    Setting("LEETCODE_RECENT_LIMIT", number(int, 1, 100), 20,
            "accepted submissions asked for per player"),
    Setting("LEETCODE_UNKNOWN_RETRY_DAYS", number(int, 1, 365), 7,
            "days before a username LeetCode did not know is asked about again"),
    Setting("LEETCODE_BLOCK_SECONDS", number(int, 1, 86_400), 3600,
            "seconds every sync stays off LeetCode after a 403 or a challenge page"),
    Setting("SYNC_INTERVAL_SECONDS", number(int, 1, 86_400), 300,
            "a player may ask for a sync this often (failed attempts included)"),
    Setting("OUTBOX_MAX_AGE", number(int, 1, 7 * 86_400), 600,
            "seconds an undelivered notification may wait before readiness warns"),
]


def create_app(config=None) -> Flask:
    app = create_service_app(SERVICES["gamification"], __name__, SETTINGS, config)
    register_db(app, db, MIGRATIONS)
    register_mirror(app)
    register_blocks(app)
    app.register_blueprint(routes.api)
    app.register_blueprint(routes.internal)
    cli.register_commands(app)
    register_front_route(app, "gamification.get_leaderboard", routes.LeaderboardFront(app))
    return app
