"""Every gamification endpoint measured in-process: CPU and round trips per request."""

import warnings
from datetime import UTC, datetime

import redis

from services.gamification import create_app
from services.gamification.leaderboard import rebuild_all
from shared.auth import mint_token
from tests.bench.gamification.data import COHORT
from tests.bench.inprocess import Call, measure, proxied

API, INTERNAL = "/api/gamification", "/internal/gamification"


def make_app(database_url: str, cache_url: str, secret: str, **extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flask-caching: null:// caches nothing
        return create_app({"DATABASE_URL": database_url, "CACHE_URL": cache_url,
                           "JWT_SECRET": secret, "LOG_LEVEL": "WARNING", "COHORT_ENV": "test",
                           **extra})


def calls(app, sql, users: list[int], secret: str) -> list[Call]:
    """Each endpoint over the sampled players; the leaderboard on Redis and on `sql`."""
    auth = [{"Authorization": "Bearer " + mint_token({"JWT_SECRET": secret}, u, "student",
                                                     COHORT)} for u in users]
    service = {"Authorization": f"Bearer {app.config['SERVICE_TOKEN']}"}
    now = datetime.now(UTC).isoformat()

    def user(i: int) -> dict:
        return auth[i % len(auth)]

    def get(path: str):
        return lambda i: {"path": path, "headers": user(i)}

    def warm():
        with app.app_context():
            rebuild_all()

    page, around = f"{API}/leaderboard?limit=50", f"{API}/leaderboard?around=me&limit=50"
    return [
        Call("leaderboard, page of 50 + me (Redis)", get(page), before=warm),
        Call("leaderboard, page of 50 + me (SQL)", get(page), app=sql),
        Call("leaderboard, around=me (Redis)", get(around)),
        Call("leaderboard, around=me (SQL)", get(around), app=sql),
        Call("player (me)", get(f"{API}/players/me")),
        Call("streak (me)", get(f"{API}/players/me/streak")),
        Call("activity (me, a year)", get(f"{API}/players/me/activity")),
        Call("seasons", get(f"{API}/seasons")),
        Call("current season", get(f"{API}/seasons/current")),
        Call("players batch of 100 (internal)", lambda i: {
            "path": f"{INTERNAL}/players/batch", "method": "POST", "headers": service,
            "json": {"user_ids": users[:100]}}),
        Call("put player, unchanged (internal)", lambda i: {
            "path": f"{INTERNAL}/players/{users[i % len(users)]}", "method": "PUT",
            "headers": service, "json": {
                "cohort_id": COHORT, "display_name": f"Player {users[i % len(users)]}",
                "leetcode_username": None, "timezone": "UTC"}}),
        Call("award 1 (internal)", lambda i: {
            "path": f"{INTERNAL}/points", "method": "POST", "headers": service,
            "json": {"awards": [{"user_id": users[i % len(users)], "points": 5,
                                 "ref": f"bench-one-{i}", "reason": "bench",
                                 "occurred_at": now}]}}, expect=201),
        Call("award 100 (internal)", lambda i: {
            "path": f"{INTERNAL}/points", "method": "POST", "headers": service,
            "json": {"awards": [{"user_id": u, "points": 5, "ref": f"bench-many-{i}-{u}",
                                 "reason": "bench", "occurred_at": now}
                                for u in users[:100]]}}, expect=201),
    ]


def measure_gamification(database_url: str, redis_url: str, secret: str, users: list[int],
                         repeat: int) -> list[dict]:
    """A row for every endpoint (the first PUT makes each sampled player's profile the
    one the unchanged PUT sends)."""
    redis.Redis.from_url(redis_url).flushdb()
    with proxied(database_url, redis_url) as (database, database_via, cache, cache_via):
        app = make_app(database_via, cache_via, secret)
        sql = make_app(database_via, "null://", secret)
        client = app.test_client()
        service = {"Authorization": f"Bearer {app.config['SERVICE_TOKEN']}"}
        for u in users:
            client.put(f"{INTERNAL}/players/{u}", headers=service, json={
                "cohort_id": COHORT, "display_name": f"Player {u}", "leetcode_username": None,
                "timezone": "UTC"})
        try:
            return measure(app, calls(app, sql, users, secret), database, cache, repeat=repeat)
        finally:
            for one in (app, sql):
                with one.app_context():
                    one.extensions["sqlalchemy"].engine.dispose()
