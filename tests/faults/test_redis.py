"""Redis faults under load: killed and restarted, writes paused, one write's connection lost.

Several gunicorn workers serve the notifications service with the count cache on; no poll
may show a count older than a write acknowledged before it began, and the service keeps
answering (writes included) while Redis is away.
"""

import threading
import time

import pytest
import requests

from tests.faults.support import LIST, Load, create, fault_stack, notification_ids, unread
from tests.stack.conftest import tokens

pytestmark = [pytest.mark.stack, pytest.mark.nginx, pytest.mark.redis]


@pytest.fixture
def cache_through_proxy(private_redis, proxy):
    """(redis server, proxy): the stack reaches the private Redis through the proxy."""
    tcp, url = proxy(private_redis.url())
    return private_redis, tcp, url


@pytest.fixture
def stack(tmp_path, notifications_db, cache_through_proxy):
    _, _, url = cache_through_proxy
    with fault_stack(tmp_path, NOTIFICATIONS_DATABASE_URL=notifications_db, CACHE_URL=url,
                     USE_NOTIFICATION_CACHE="on", CACHE_LEASE_SECONDS="2") as stack:
        yield stack


def assert_sound(report) -> None:
    assert report.stale == [], report.stale[:10]
    assert report.polls > 50 and report.creates > 10 and report.reads > 10, report
    assert not report.failed, report.failed


def test_redis_killed_and_restarted_under_load(stack, cache_through_proxy):
    """Long enough after the restart for each worker's breaker to close and reopen on its
    dead pooled connections at its own moment (CACHE_RETRY_AFTER is 5s)."""
    server, _, _ = cache_through_proxy
    load = Load(stack, gainers=range(1, 4), losers=range(101, 104)).prepare()
    report = load.run(12, events=[(1.0, server.kill), (2.0, server.start)])
    assert_sound(report)


def warm(stack, user: int, count: int) -> int:
    """Give the user `count` unread notifications, cached on every worker; one of their ids."""
    for i in range(count):
        assert create(stack, [user], f"{user}-{i}").status_code == 201
    for _ in range(30):
        assert unread(stack, user).json()["unread_count"] == count
    return notification_ids(stack, user)[0]


def read_and_watch(stack, user: int, target: int, expected: int, during=None) -> list[int]:
    """Mark one notification read (with `during` running meanwhile), then poll 100 times."""
    response = requests.post(f"{stack.base_url}{LIST}/{target}/read",
                             headers=tokens.user(user), timeout=20)
    assert response.status_code == 200, response.text
    assert response.json()["unread_count"] == expected
    counts = []
    for _ in range(100):
        counts.append(unread(stack, user).json()["unread_count"])
        time.sleep(0.02)
    return counts


def test_redis_writes_paused(stack, cache_through_proxy):
    """CLIENT PAUSE WRITE (a failover): the read's invalidation cannot land, but every
    worker can still read the old count from Redis."""
    server, _, _ = cache_through_proxy
    user = 3000
    target = warm(stack, user, 2)
    server.pause_writes(4)
    assert read_and_watch(stack, user, target, 1) == [1] * 100
    load = Load(stack, gainers=range(1, 4), losers=range(101, 104)).prepare()
    assert_sound(load.run(5, events=[(1.0, lambda: server.pause_writes(2))]))


def test_redis_lost_only_while_one_write_runs(stack, cache_through_proxy):
    """The POST .../read cannot reach Redis; every other request can, before and after."""
    _, tcp, _ = cache_through_proxy
    user = 2000
    target = warm(stack, user, 2)
    answer = {}

    def mark_read():
        answer["response"] = requests.post(f"{stack.base_url}{LIST}/{target}/read",
                                           headers=tokens.user(user), timeout=20)

    tcp.freeze()
    writer = threading.Thread(target=mark_read)
    writer.start()
    writer.join(20)
    tcp.cut()  # what the frozen connections held is gone, as after a network blip
    tcp.thaw()
    assert answer["response"].status_code == 200
    assert answer["response"].json()["unread_count"] == 1
    counts = []
    for _ in range(100):
        counts.append(unread(stack, user).json()["unread_count"])
        time.sleep(0.02)
    assert counts == [1] * 100
