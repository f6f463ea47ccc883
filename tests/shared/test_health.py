"""Health endpoints: live, ready with database and cache checks, cached results, /health/."""

import pytest

from shared import health
from shared.app import VERSION
from shared.observability import count_queries
from tests.support.servers import closed_port

HEALTH_JSON = "application/health+json"


def test_live_checks_nothing(make_app):
    app = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/none")
    response = app.test_client().get("/health/live/")
    assert response.status_code == 200
    assert response.mimetype == HEALTH_JSON
    assert response.get_json() == {"status": "pass"}


def test_ready_passes_with_database_and_cache(db_app):
    response = db_app.test_client().get("/health/ready/")
    assert response.status_code == 200
    assert response.mimetype == HEALTH_JSON
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "pass"
    assert set(body["checks"]) == {"database:responseTime", "cache:responseTime"}
    for (check,) in body["checks"].values():
        assert check["status"] == "pass"
        assert check["observedUnit"] == "ms"
        assert check["observedValue"] >= 0
        assert check["time"].endswith("Z")


def test_ready_passes_with_redis(make_app, redis_url):
    body = make_app(CACHE_URL=redis_url).test_client().get("/health/ready/").get_json()
    assert body["status"] == "pass"
    assert body["checks"]["cache:responseTime"][0]["status"] == "pass"


def test_unreachable_database_fails_readiness(make_app):
    app = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/none")
    response = app.test_client().get("/health/ready/")
    assert response.status_code == 503
    assert response.mimetype == HEALTH_JSON
    body = response.get_json()
    assert body["status"] == "fail"
    (check,) = body["checks"]["database:responseTime"]
    assert check["status"] == "fail"
    # The driver's text (host, port) goes to the log, not the public page.
    assert check["output"] == "database unreachable"
    assert app.test_client().get("/health/live/").status_code == 200


def test_database_that_never_answers_fails_readiness_in_bounded_time(make_app,
                                                                     unanswering_port):
    """Connection attempts that hang (packets dropped) end at the connect timeout."""
    app = make_app(DATABASE_URL=f"postgresql://postgres@127.0.0.1:{unanswering_port}/none")
    response = app.test_client().get("/health/ready/")
    assert response.status_code == 503
    check = response.get_json()["checks"]["database:responseTime"][0]
    assert check["output"] == "database unreachable"


def test_unreachable_redis_only_warns(make_app):
    app = make_app(CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0")
    response = app.test_client().get("/health/ready/")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "warn"
    assert body["checks"]["database:responseTime"][0]["status"] == "pass"
    (check,) = body["checks"]["cache:responseTime"]
    assert check["status"] == "warn"
    assert check["output"]


def test_results_are_cached_so_probes_cost_nothing(db_app):
    client = db_app.test_client()
    with count_queries() as stats:
        first = client.get("/health/ready/").get_json()
        second = client.get("/health/").get_json()
    assert stats.count == 1  # one SELECT 1 for both probes
    assert first["checks"] == second["checks"]


def test_checks_run_again_once_the_cached_result_is_old(db_app, monkeypatch):
    monkeypatch.setattr(health, "CACHE_SECONDS", -1.0)
    client = db_app.test_client()
    with count_queries() as stats:
        client.get("/health/ready/")
        client.get("/health/ready/")
    assert stats.count == 2


def test_health_names_the_service_and_its_release(make_app):
    response = make_app(RELEASE_ID="2024.06.1").test_client().get("/health/")
    assert response.status_code == 200
    assert response.mimetype == HEALTH_JSON
    body = response.get_json()
    assert body["serviceId"] == "probe"
    assert body["version"] == VERSION
    assert body["releaseId"] == "2024.06.1"
    assert body["status"] == "pass"
    assert set(body["checks"]) == {"database:responseTime", "cache:responseTime"}
    assert set(body["flags"]) >= {"USE_NOTIFICATION_CACHE", "LOG_QUERY_TIMES"}


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
def test_paths_answer_without_the_trailing_slash(app, path):
    assert app.test_client().get(path).status_code == 200
