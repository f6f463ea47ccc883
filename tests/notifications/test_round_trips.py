"""Round-trip budgets: what each endpoint costs in trips to PostgreSQL and Redis, counted on
the wire by a proxy in front of each (query budgets count statements; these count BEGIN,
COMMIT, pings and cache calls too). And a restarted database costs a retry, not an error."""

import pytest
import redis

from services.notifications import create_app
from tests.conftest import Tokens
from tests.support.databases import empty_tables, migrate, temporary_database
from tests.support.proxy import proxy_to
from tests.support.servers import REDIS_URL, require_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
LIST = "/api/notifications"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A migrated PostgreSQL database and Redis, each behind a counting proxy."""
    require_redis()
    with temporary_database("postgresql", tmp_path_factory, "trips") as url:
        migrate(create_app, url)
        with proxy_to(url) as (database, database_url), proxy_to(REDIS_URL) as (cache, cache_url):
            yield database, database_url, cache, cache_url


@pytest.fixture
def measured(servers):
    database, database_url, cache, cache_url = servers
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = create_app({"DATABASE_URL": database_url, "CACHE_URL": cache_url,
                      "USE_NOTIFICATION_CACHE": "on", "COHORT_ENV": "test"})
    client, tokens = app.test_client(), Tokens(app.config)

    def trips(method: str, path: str, user: int | None = 1, **kwargs) -> tuple[int, int]:
        headers = tokens.user(user) if user else tokens.service
        with database.counting() as to_database, cache.counting() as to_cache:
            response = getattr(client, method)(path, headers=headers, **kwargs)
        assert response.status_code < 300, response.get_json()
        return to_database(), to_cache()

    trips.client, trips.tokens, trips.database = client, tokens, database
    # Open the pooled connections (their handshakes are not the endpoints' cost).
    client.post("/internal/notifications/", headers=tokens.service, json={
        "user_ids": [1, 2], "kind": "dashboard", "title": "warm the pool"})
    for _ in range(2):
        client.get(f"{LIST}/unread-count", headers=tokens.user(2))
    yield trips
    empty_tables(app)


def create(trips, user_ids, **fields):
    return trips("post", "/internal/notifications/", None, json={
        "user_ids": user_ids, "kind": "profile", "title": "t", **fields})


def test_reads_are_one_round_trip(measured):
    create(measured, [1], dedupe_key="a")
    assert measured("get", f"{LIST}?limit=20") == (1, 0)
    assert measured("get", f"{LIST}?kind=profile&unread=true") == (1, 0)
    assert measured("get", f"{LIST}?limit=1&cursor=") == (1, 0)
    # A poll: a miss reads the database once and stores the counts; a hit is one MGET.
    assert measured("get", f"{LIST}/unread-count") == (1, 2)
    assert measured("get", f"{LIST}/unread-count") == (0, 1)


def test_writes_are_one_statement_then_the_fresh_counts(measured):
    create(measured, [1], dedupe_key="b")
    item = measured.client.get(LIST, headers=measured.tokens.user(1)).json["items"][0]
    # The update (its own transaction), then the counts; the version token, then the counts.
    assert measured("post", f"{LIST}/{item['id']}/read") == (2, 2)
    # Already read: one more statement tells "yours, read already" from "not yours".
    assert measured("post", f"{LIST}/{item['id']}/read") == (3, 2)
    assert measured("post", f"{LIST}/read-all") == (2, 2)
    # A fan-out: BEGIN, one INSERT, COMMIT; one cache pipeline. (Kept small: a large body
    # goes out in several packets, and an answer to the first can arrive before the last
    # leaves, which the proxy would count as another trip.)
    assert create(measured, list(range(10, 20)), dedupe_key="c") == (3, 1)


def test_a_restarted_database_costs_a_retry_not_an_error(measured):
    """Pooled connections the server closed are replaced before use, without a ping."""
    assert measured("get", LIST) == (1, 0)
    connections = measured.database.connections
    measured.database.cut()  # every connection closed, as a restart does
    response = measured.client.get(LIST, headers=measured.tokens.user(1))
    assert response.status_code == 200
    assert measured.database.connections > connections  # a new one was opened
