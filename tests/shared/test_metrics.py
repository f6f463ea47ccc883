"""/metrics: latency per route and status, cache lookups, and sums across gunicorn workers."""

import json
import threading

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.shared.gunicorn import wait_until
from tests.support.servers import closed_port

LATENCY = "http_request_duration_seconds"


def samples(text: str, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_request_latency_by_route_and_status(app, tokens):
    client = app.test_client()
    before = scrape(client)
    for _ in range(3):
        client.get("/api/probe/me", headers=tokens.user(1))
    client.get("/api/probe/me")
    client.get("/nowhere")
    after = scrape(client)

    def delta(**labels) -> float:
        name = f"{LATENCY}_count"
        return samples(after, name, **labels) - samples(before, name, **labels)

    assert delta(service="probe", method="GET", route="/api/probe/me", status="200") == 3
    assert delta(service="probe", method="GET", route="/api/probe/me", status="401") == 1
    assert delta(service="probe", route="<unmatched>", status="404") == 1
    buckets = [s for f in text_string_to_metric_families(after) for s in f.samples
               if s.name == f"{LATENCY}_bucket" and s.labels["route"] == "/api/probe/me"]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "0.1", "+Inf"}


def test_made_up_methods_share_one_label(app):
    client = app.test_client()
    for method in ("FOO", "BAR1", "PROPFIND"):
        client.open("/api/probe/me", method=method)
    text = scrape(client)
    methods = {s.labels["method"] for f in text_string_to_metric_families(text)
               for s in f.samples if s.name == f"{LATENCY}_count"}
    assert "OTHER" in methods
    assert not methods & {"FOO", "BAR1", "PROPFIND"}


def test_cache_lookups_are_counted(make_app):
    up = make_app().test_client()
    down = make_app(CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0").test_client()
    before = scrape(up)
    up.get("/api/probe/cached/m1")  # miss, then stored
    up.get("/api/probe/cached/m1")  # hit
    down.get("/api/probe/cached/m1")  # error (Redis down), then a miss
    after = scrape(up)

    def delta(**labels) -> float:
        name = "cache_lookups_total"
        return samples(after, name, **labels) - samples(before, name, **labels)

    assert delta(service="probe", cache="probe", result="hit") == 1
    assert delta(service="probe", cache="probe", result="miss") == 2
    assert delta(service="probe", cache="redis", result="error") == 1


def test_metrics_add_up_across_gunicorn_workers(gunicorn, tmp_path):
    multiproc, flags = tmp_path / "prometheus", tmp_path / "flags"
    multiproc.mkdir()
    flags.mkdir()
    server = gunicorn(workers=2, PROMETHEUS_MULTIPROC_DIR=str(multiproc),
                      PROBE_FLAG_DIR=str(flags), CACHE_URL="null://",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'probe.db'}")
    base = server.base
    # Pin one worker on a held request, so the other serves all the rest: a worker's own
    # numbers would then miss either the held request or the others.
    held = threading.Thread(target=requests.get, args=(f"{base}/api/probe/wait",),
                            kwargs={"timeout": 60})
    held.start()
    n = 40
    try:
        wait_until(lambda: any(flags.glob("waiting-*")), what="the held request")
        held_pid = int(next(flags.glob("waiting-*")).name.split("-")[1])
        for i in range(n):
            response = requests.get(f"{base}/health/live/", headers={"X-Request-ID": f"n-{i}"},
                                    timeout=10)
            assert response.status_code == 200
    finally:
        (flags / "go").touch()
        held.join()

    for _ in range(6):  # whichever worker answers, it reports every worker's requests
        text = requests.get(f"{base}/metrics", timeout=10).text
        assert samples(text, f"{LATENCY}_count", route="/health/live/", status="200") == n
        assert samples(text, f"{LATENCY}_count", route="/api/probe/wait", status="200") == 1

    pids = {int(p.stem.rsplit("_", 1)[1]) for p in multiproc.glob("histogram_*.db")}
    assert held_pid in pids and len(pids) >= 2

    lines = [json.loads(line) for line in server.stdout.read_text().splitlines()]
    served = [x for x in lines if x["logger"] == "cohort.request" and x["route"] == "/health/live/"]
    assert sorted(x["request_id"] for x in served) == sorted(f"n-{i}" for i in range(n))
