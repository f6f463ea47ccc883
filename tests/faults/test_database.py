"""PostgreSQL frozen behind a proxy (it ACKs, nothing answers): requests that need it fail
fast with 503 problems, readiness says so within its budget, cached polls go on, and the
service recovers within seconds of the database answering again."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.faults.support import COUNT, LIST, create, fault_stack, wait_for_recovery
from tests.gateway.support import assert_problem
from tests.stack.conftest import tokens

pytestmark = [pytest.mark.stack, pytest.mark.nginx, pytest.mark.postgres]

USERS = range(1, 6)
BOUND = 8  # seconds: an answer later than this is a hang (the gateway would wait 30s)


@pytest.fixture
def frozen_setup(tmp_path, notifications_db, private_redis, proxy):
    tcp, url = proxy(notifications_db)
    with fault_stack(tmp_path, NOTIFICATIONS_DATABASE_URL=url, CACHE_URL=private_redis.url(),
                     USE_NOTIFICATION_CACHE="on", CACHE_LEASE_SECONDS="15",
                     DATABASE_STATEMENT_TIMEOUT="1", DATABASE_RETRY_AFTER="1") as stack:
        yield stack, tcp


def get(url: str, user: int | None = None) -> requests.Response:
    headers = tokens.user(user) if user else {}
    return requests.get(url, headers=headers, timeout=BOUND)


def test_a_frozen_database_fails_fast_keeps_polls_and_recovers(frozen_setup):
    stack, tcp = frozen_setup
    for user in USERS:
        assert create(stack, [user] * 1, f"d-{user}").status_code == 201
    for _ in range(5):
        for user in USERS:  # every worker has the counts cached
            assert get(f"{stack.base_url}{COUNT}", user).json()["unread_count"] == 1

    tcp.freeze()
    polls, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            for user in USERS:
                response = get(f"{stack.base_url}{COUNT}", user)
                polls.append((response.status_code, response.json().get("unread_count")))

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for thread in pollers:
        thread.start()
    with ThreadPoolExecutor(4) as pool:  # more than there are workers
        lists = list(pool.map(lambda u: get(f"{stack.base_url}{LIST}", u), [*USERS, *USERS]))
    ready = get(f"{stack.base_url}/health/notifications/ready/")
    time.sleep(2)
    stop.set()
    for thread in pollers:
        thread.join()

    for response in lists:
        assert_problem(response, 503)
        assert response.headers["Retry-After"]
    assert ready.status_code == 503
    assert ready.json()["checks"]["database:responseTime"][0]["output"] == \
        "database unreachable"
    assert len(polls) > 20 and set(polls) == {(200, 1)}

    tcp.thaw()
    tcp.cut()  # what the freeze held is stale now: as after a network partition
    wait_for_recovery(lambda: get(f"{stack.base_url}{LIST}", 1).status_code == 200)
    for user in USERS:
        assert get(f"{stack.base_url}{LIST}", user).status_code == 200
    assert get(f"{stack.base_url}/health/notifications/ready/").status_code == 200
