"""The storage benchmark's quick mode, end to end, so it cannot rot: every figure, no errors,
and the one bound that is about memory, not time: a streamed upload grows no worker by
32 MB (here a 50 MB upload; a buffered one would grow it by the file's size)."""

import uuid

import pytest

from tests.bench.storage import parse, run
from tests.bench.test_quick import require_wrk
from tests.gateway.support import free_ports
from tests.support.servers import POSTGRES_URL, require_nginx, require_postgres

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.nginx]


def test_quick_storage_benchmark(tmp_path):
    require_postgres()
    require_nginx()
    require_wrk()
    database = POSTGRES_URL.rsplit("/", 1)[0] + f"/test_bench_storage_{uuid.uuid4().hex[:8]}"
    args = parse(["--quick", "--out", str(tmp_path), "--database-url", database])
    args.ports = free_ports(6)

    results = run(args)

    for runs in results["download"]["runs"].values():
        assert [r["errors"] for r in runs] == [0, 0] and all(r["requests"] for r in runs)
    assert results["download"]["ratio"] > 0
    upload = results["upload"]
    assert upload["mb_per_s"] > 0 and upload["cp_mb_per_s"] > 0
    assert upload["worker_rss_growth_mb"] < 32
    assert [r["name"] for r in results["metadata"]] == ["metadata", "list"]
    assert all(r["errors"] == 0 and r["requests"] for r in results["metadata"])
    endpoints = {r["name"]: r for r in results["in_process"]}
    for route in ("metadata", "list (20)", "content"):
        assert endpoints[route]["statements"] == endpoints[route]["postgres"] == 1
    assert len(endpoints) == 7
    assert (tmp_path / "storage-quick.md").exists() and (tmp_path / "storage-quick.json").exists()
