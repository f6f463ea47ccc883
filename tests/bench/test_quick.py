"""The benchmark's quick mode, end to end, so it cannot rot: every row, and no errors.

Never a timing assertion: the figures are for people to read, not for the suite to judge.
"""

import json

import pytest

from tests.bench.__main__ import options_from
from tests.bench.run import BASELINE, SCENARIOS, run
from tests.bench.wrk import wrk_binary
from tests.gateway.support import free_ports
from tests.support.servers import (
    REDIS_URL,
    require,
    require_nginx,
    require_postgres,
    require_redis,
)

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]


def require_wrk() -> None:
    require("wrk", wrk_binary() is not None, "not on PATH or in /usr/bin (apt-get install wrk)")


def test_quick_benchmark_reports_every_row_without_errors(tmp_path):
    require_postgres()
    require_redis()
    require_nginx()
    require_wrk()
    options = options_from(["--quick", "--out", str(tmp_path),
                            "--redis-url", REDIS_URL])
    options.ports = free_ports(9)

    report = run(options)

    rows = {row["name"]: row for row in report["results"]}
    assert list(rows) == [BASELINE.name, *(scenario.name for scenario in SCENARIOS)]
    for row in rows.values():
        assert row["requests"] > 0, row
        assert row["errors"] == 0, row
    assert rows["mixed_high"]["connections"] == 500
    assert "ix_notifications_unread" in report["plan"]
    assert report["data"]["notifications"] == options.notifications
    assert report["cache_hit_ratio"] != "-"
    endpoints = {row["name"]: row for row in report["endpoints"]}
    assert endpoints["list, first page (20)"]["postgres"] == 1
    assert endpoints["unread count, cache hit"] == {**endpoints["unread count, cache hit"],
                                                    "postgres": 0, "redis": 1}
    assert all(row["cpu_us"] > 0 for row in endpoints.values())
    written = json.loads((tmp_path / "quick.json").read_text())
    assert [row["name"] for row in written["results"]] == list(rows)
    markdown = (tmp_path / "quick.md").read_text()
    assert all(scenario.label in markdown for scenario in (BASELINE, *SCENARIOS))
