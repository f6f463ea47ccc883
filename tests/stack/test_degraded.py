"""A service whose database is down, the per-client rate limit, and a clean stop."""

import time
from pathlib import Path

import pytest
import requests

from tests.gateway.support import assert_problem
from tests.stack.conftest import running_stack, stack_env
from tests.support.servers import closed_port

pytestmark = [pytest.mark.stack, pytest.mark.nginx]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = stack_env(
        NOTIFICATIONS_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere",
        CACHE_URL="null://", GATEWAY_RATE="1r/m", GATEWAY_BURST="0")
    with running_stack(tmp_path_factory.mktemp("degraded"), env) as stack:
        yield stack


def test_readiness_is_503_when_the_database_is_unreachable(stack):
    ready = requests.get(f"{stack.base_url}/health/notifications/ready/", timeout=10)
    assert ready.status_code == 503
    assert ready.headers["Content-Type"] == "application/health+json"
    body = ready.json()
    assert body["status"] == "fail"
    assert body["checks"]["database:responseTime"][0]["status"] == "fail"
    # Live checks only the process: the orchestrator must not restart it for this.
    live = requests.get(f"{stack.base_url}/health/notifications/live/", timeout=10)
    assert live.status_code == 200


def test_rate_limit_answers_429_problem_json(stack):
    url = f"{stack.base_url}/api/notifications/unread-count"
    first, *rest = [requests.get(url, timeout=10) for _ in range(3)]
    assert_problem(first, 401)  # reached the service, which wants a token
    for limited in rest:
        assert_problem(limited, 429)
        assert limited.headers["Retry-After"]
    # Health and the service-to-service listener are not limited.
    assert requests.get(f"{stack.base_url}/health/gateway/", timeout=10).status_code == 200
    assert requests.get(f"{stack.internal_url}/api/notifications/unread-count",
                        timeout=10).status_code == 401


def descendants(pid: int) -> set[int]:
    found = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, children.read_text().split()):
            found |= {child, *descendants(child)}
    return found


def test_stop_leaves_no_process_behind(tmp_path):
    env = stack_env(NOTIFICATIONS_DATABASE_URL=f"postgresql://127.0.0.1:{closed_port()}/x",
                    CACHE_URL="null://")
    with running_stack(tmp_path, env) as stack:
        pids = set(stack.pids.values())
        for pid in list(pids):
            pids |= descendants(pid)
        assert len(pids) >= 4  # nginx master and workers, gunicorn master and workers
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert stack.pids == {}
