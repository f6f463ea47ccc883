"""The gamification benchmark's quick mode, end to end, so it cannot rot: every row, no
errors, the sync under its rate. Never a timing assertion."""

import json

import pytest

from tests.bench.gamification.__main__ import options_from
from tests.bench.gamification.run import SCENARIOS, run
from tests.bench.test_quick import require_wrk
from tests.gateway.support import free_ports
from tests.support.servers import REDIS_URL, require_nginx, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]


def test_quick_gamification_benchmark(tmp_path):
    require_postgres()
    require_redis()
    require_nginx()
    require_wrk()
    options = options_from(["--quick", "--out", str(tmp_path), "--redis-url", REDIS_URL])
    options.ports = free_ports(9)

    report = run(options)

    rows = [row for row in report["results"] if row["name"] != "baseline"]
    assert [row["name"] for row in rows] == [name for name, *_ in SCENARIOS]
    for row in report["results"]:
        assert row["requests"] > 0 and row["errors"] == 0, row
    sync = report["sync"]
    assert sync["synced"] == sync["players"] == options.sync_players
    assert sync["max_requests_in_one_second"] <= 20
    endpoints = {row["name"]: row for row in report["endpoints"]}
    for path in ("Redis", "SQL"):  # a page of kept blocks: one statement, no Redis
        assert endpoints[f"leaderboard, page of 50 + me ({path})"]["statements"] == 1
        assert endpoints[f"leaderboard, page of 50 + me ({path})"]["redis"] == 0
    for path, most in (("Redis", 2), ("SQL", 0)):  # a window: its budget, Redis on one path
        row = endpoints[f"leaderboard, around=me ({path})"]
        assert 1 <= row["statements"] <= 3 and row["redis"] <= most, row
    assert all(row["cpu_us"] > 0 for row in endpoints.values())
    assert json.loads((tmp_path / "gamification-quick.json").read_text())["players"] == 2000
