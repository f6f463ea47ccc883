"""The notifications endpoints measured in-process: CPU and round trips per request."""

import warnings

import redis

from services.notifications import create_app
from shared.auth import mint_token
from tests.bench.inprocess import Call, measure, proxied

LIST = "/api/notifications"


def _app(database_url: str, cache_url: str, secret: str, cache: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flask-caching: null:// caches nothing
        return create_app({"DATABASE_URL": database_url, "CACHE_URL": cache_url,
                           "USE_NOTIFICATION_CACHE": cache, "JWT_SECRET": secret,
                           "NOTIFICATION_CACHE_TTL": "600", "LOG_LEVEL": "WARNING",
                           "COHORT_ENV": "test"})


def calls(app, off, sample: list[tuple[int, str, int]], secret: str) -> list[Call]:
    """Each endpoint over the sampled users (user id, ETag, an unread notification id); the
    poll without a cache on `off`, an app of its own."""
    auth = [{"Authorization": f"Bearer {mint_token({'JWT_SECRET': secret}, u, 'student')}"}
            for u, _, _ in sample]
    service = {"Authorization": f"Bearer {app.config['SERVICE_TOKEN']}"}
    client, cursors = app.test_client(), {}

    def user(i: int) -> dict:
        return auth[i % len(auth)]

    def warm_counts():
        for i in range(len(auth)):
            client.get(f"{LIST}/unread-count", headers=user(i))

    def warm_cursors():
        for i in range(len(auth)):
            page = client.get(f"{LIST}?limit=20", headers=user(i)).get_json()
            cursors[i] = page["next_cursor"] or ""

    def create(users: list[int], key: str) -> dict:
        return {"path": "/internal/notifications/", "method": "POST", "headers": service,
                "json": {"user_ids": users, "kind": "dashboard", "title": "Review in",
                         "dedupe_key": key}}

    poll = f"{LIST}/unread-count"
    return [
        Call("unread count, cache hit", lambda i: {"path": poll, "headers": user(i)},
             before=warm_counts),
        Call("unread count, cache off", lambda i: {"path": poll, "headers": user(i)}, app=off),
        Call("unread count, 304", lambda i: {"path": poll, "headers": {
            **user(i), "If-None-Match": sample[i % len(sample)][1]}}, expect=304),
        Call("list, first page (20)", lambda i: {"path": f"{LIST}?limit=20",
                                                 "headers": user(i)}),
        Call("list, next page", lambda i: {
            "path": f"{LIST}?limit=20&cursor={cursors[i % len(auth)]}", "headers": user(i)},
            before=warm_cursors),
        Call("mark read", lambda i: {"path": f"{LIST}/{sample[i][2]}/read", "method": "POST",
                                     "headers": user(i)}),
        Call("read-all", lambda i: {"path": f"{LIST}/read-all", "method": "POST",
                                    "headers": user(i)}),
        Call("create, 1 user (internal)",
             lambda i: create([sample[i % len(sample)][0]], f"bench-one-{i}"), expect=201),
        Call("create, 1,000 users (internal)",
             lambda i: create([u for u, _, _ in sample[:1000]], f"bench-many-{i}"),
             expect=201),
    ]


def measure_notifications(database_url: str, redis_url: str, secret: str,
                          sample: list[tuple[int, str, int]], repeat: int) -> list[dict]:
    """A row for every notifications endpoint."""
    redis.Redis.from_url(redis_url).flushdb()
    users = sample[:repeat + 30]
    with proxied(database_url, redis_url) as (database, database_via, cache, cache_via):
        app = _app(database_via, cache_via, secret, "on")
        off = _app(database_via, "null://", secret, "off")
        try:
            return measure(app, calls(app, off, users, secret), database, cache, repeat=repeat)
        finally:
            for one in (app, off):
                with one.app_context():
                    one.extensions["sqlalchemy"].engine.dispose()
