"""The analytics benchmark's quick mode, end to end, so it cannot rot (no timing assertion)."""

import json

import pytest

from tests.bench.analytics.__main__ import options_from, run
from tests.bench.test_quick import require_wrk
from tests.gateway.support import free_ports
from tests.support.servers import REDIS_URL, require_nginx, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]


def test_quick_analytics_benchmark_reports_every_figure(tmp_path):
    require_postgres()
    require_redis()
    require_nginx()
    require_wrk()
    options = options_from(["--quick", "--out", str(tmp_path), "--redis-url", REDIS_URL])
    options.ports = free_ports(6)

    report = run(options)

    assert report["data"]["submissions"] == options.submissions
    assert report["recompute"]["full_s"] > 0 and report["recompute"]["incremental_s"] > 0
    assert "(incremental): 1 cohorts" in report["recompute"]["incremental"]
    assert {name: row["queries"] for name, row in report["per_request"]["live"].items()} == {
        "student": 1, "mentor": 3, "cohort": 1}
    assert [row["name"] for row in report["gateway"]] == ["student", "mentor", "cohort"]
    for row in report["gateway"]:
        assert row["requests"] > 0 and row["errors"] == 0, row
    assert report["ingest"]["events"] == options.ingest
    written = json.loads((tmp_path / "analytics-quick.json").read_text())
    assert written["ingest"] == report["ingest"]
