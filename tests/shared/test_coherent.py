"""shared.coherent: a value is never served once a write that replaced it has returned, even
when that write could not reach Redis; the cache still fails open."""

import threading
import time

import pytest

from tests.shared.test_cache import RedisDoor
from tests.support.redis_server import redis_server

KEY = "/api/probe/coherent/items"


@pytest.fixture
def private_redis(tmp_path):
    with redis_server(tmp_path) as server:
        yield server


def count(app) -> dict:
    response = app.test_client().get(KEY)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def add(app) -> int:
    response = app.test_client().post(KEY)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["count"]


def warm(app) -> int:
    """Fill the cache and check the next read is a hit."""
    first = count(app)
    second = count(app)
    assert second == {"count": first["count"], "cached": True}
    return first["count"]


def test_a_value_is_served_until_a_write_replaces_it(make_db_app, redis_url):
    app = make_db_app(CACHE_URL=redis_url)
    assert warm(app) == 0
    assert add(app) == 1
    assert count(app) == {"count": 1, "cached": False}
    assert count(app) == {"count": 1, "cached": True}


def test_memory_and_null_caches_are_coherent_too(make_db_app):
    for url, cached in (("memory://", True), ("null://", False)):
        app = make_db_app(CACHE_URL=url)
        count(app)
        assert count(app)["cached"] is cached
        add(app)
        assert count(app)["count"] == count(make_db_app(CACHE_URL="null://"))["count"]


@pytest.fixture
def door(redis_url):
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    door = RedisDoor((host, int(port)), db=redis_url.rsplit("/", 1)[1])
    yield door
    door.close()


def test_a_write_that_cannot_reach_redis_returns_only_when_no_worker_serves_the_old_value(
        make_db_app, redis_url, door):
    """Two workers: the writer's Redis connection is cut; the reader's is fine."""
    reader = make_db_app(CACHE_URL=redis_url, CACHE_LEASE_SECONDS="1")
    writer = make_db_app(CACHE_URL=door.url(), CACHE_LEASE_SECONDS="1")
    before = warm(reader)
    door.shut()
    assert add(writer) == before + 1  # the invalidation is lost; the write still succeeds
    for _ in range(20):
        assert count(reader)["count"] == before + 1
    door.open()
    time.sleep(0.3)  # past a renewal: the cache serves again, under a new epoch
    counts = [count(reader) for _ in range(5)]
    assert all(c["count"] == before + 1 for c in counts) and counts[-1]["cached"]


def test_a_write_returns_as_soon_as_redis_takes_its_invalidation(make_db_app, redis_url, door):
    reader = make_db_app(CACHE_URL=redis_url, CACHE_LEASE_SECONDS="20")
    writer = make_db_app(CACHE_URL=door.url(), CACHE_LEASE_SECONDS="20")
    before = warm(reader)
    door.shut()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (add(writer), done.set()))
    thread.start()
    time.sleep(0.5)
    assert not done.is_set()  # a lease granted before the write may still be served
    door.open()
    assert done.wait(10)  # its retry got through, long before the lease could end
    thread.join()
    assert count(reader)["count"] == before + 1


def test_paused_redis_writes_never_leave_a_stale_value(make_db_app, private_redis):
    """CLIENT PAUSE WRITE (a failover): reads still answer, the invalidation cannot land."""
    reader = make_db_app(CACHE_URL=private_redis.url(), CACHE_LEASE_SECONDS="1")
    writer = make_db_app(CACHE_URL=private_redis.url(), CACHE_LEASE_SECONDS="1")
    before = warm(reader)
    private_redis.pause_writes(3)
    assert add(writer) == before + 1
    assert count(reader)["count"] == before + 1
    time.sleep(3)
    assert count(reader)["count"] == before + 1


def test_a_restarted_redis_that_kept_its_keys_starts_a_new_epoch(make_db_app, private_redis):
    """A Redis restarted from a snapshot (or a promoted replica) may hold values a write
    replaced after the snapshot: another run_id, so none of them is served."""
    app = make_db_app(CACHE_URL=private_redis.url(), CACHE_LEASE_SECONDS="20")
    before = warm(app)
    with private_redis.client() as client:
        saved = {key: client.dump(key) for key in client.keys("*")}
    add(app)
    private_redis.restart()
    with private_redis.client() as client:
        for key, value in saved.items():  # as a reload of the snapshot would
            client.restore(key, 0, value, replace=True)
    assert count(app)["count"] == before + 1


def test_with_redis_gone_reads_and_writes_go_on(make_db_app, private_redis):
    app = make_db_app(CACHE_URL=private_redis.url(), CACHE_LEASE_SECONDS="1",
                      CACHE_RETRY_AFTER="0.2")
    before = warm(app)
    private_redis.kill()
    assert add(app) == before + 1
    assert count(app) == {"count": before + 1, "cached": False}
    private_redis.start()
    time.sleep(0.25)
    assert count(app)["count"] == before + 1
    assert count(app) == {"count": before + 1, "cached": True}
