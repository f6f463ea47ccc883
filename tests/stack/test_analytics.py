"""Analytics through the real gateway beside the real gamification service: dashboards carry
its streaks and points from one batch call, and go on without them when it stops."""

import time

import pytest
import redis
import requests

from services.analytics import create_app as analytics_app
from services.gamification import create_app as gamification_app
from shared.db import isoformat_z, utcnow
from tests.stack.conftest import running_stack, stack_env, tokens
from tests.support.databases import migrate, temporary_database
from tests.support.servers import REDIS_URL, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]
MENTOR, STUDENTS = 900_001, (1, 2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_postgres()
    require_redis()
    redis.Redis.from_url(REDIS_URL).flushdb()
    with temporary_database("postgresql", tmp_path_factory, "astack_a") as analytics, \
            temporary_database("postgresql", tmp_path_factory, "astack_g") as gamification:
        migrate(analytics_app, analytics)
        migrate(gamification_app, gamification)
        env = stack_env(ANALYTICS_DATABASE_URL=analytics, GAMIFICATION_DATABASE_URL=gamification,
                        CACHE_URL=REDIS_URL, ANALYTICS_BREAKER_SECONDS="60")
        with running_stack(tmp_path_factory.mktemp("astack"), env,
                           services=["analytics", "gamification"]) as running:
            yield running
    redis.Redis.from_url(REDIS_URL).flushdb()


def internal(stack, method: str, path: str, body: dict) -> dict:
    response = requests.request(method, f"{stack.internal_url}{path}", headers=tokens.service,
                                json=body, timeout=10)
    assert response.status_code in (200, 201), response.text
    return response.json()


def mentor_dashboard(stack) -> tuple[dict, float]:
    started = time.monotonic()
    response = requests.get(f"{stack.base_url}/api/analytics/mentors/{MENTOR}/dashboard",
                            headers=tokens.user(MENTOR, "mentor", cohort_id=1), timeout=10)
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def test_streaks_and_points_from_gamification_then_without_it(stack):
    now = isoformat_z(utcnow())
    for student in STUDENTS:
        internal(stack, "PUT", f"/internal/gamification/players/{student}", {
            "cohort_id": 1, "display_name": f"Student {student}", "leetcode_username": None,
            "timezone": "UTC"})
    internal(stack, "POST", "/internal/gamification/points", {"awards": [
        {"user_id": 1, "points": 5, "ref": "stack-1", "reason": "review", "occurred_at": now}]})
    events = []
    for student in STUDENTS:
        events += [
            {"id": f"e{student}", "type": "student.enrolled", "occurred_at": now,
             "data": {"student_id": student, "cohort_id": 1}},
            {"id": f"m{student}", "type": "mentor.assigned", "occurred_at": now,
             "data": {"mentor_id": MENTOR, "student_id": student}}]
    assert internal(stack, "POST", "/internal/analytics/events", {"events": events}) == {
        "accepted": 4, "duplicates": 0, "rejected": []}

    body, _ = mentor_dashboard(stack)
    assert body["unavailable"] == []
    assert [(s["student_id"], s["streak"], s["points"]) for s in body["students"]] == [
        (1, 1, 5), (2, 0, 0)]  # an award today makes an active day

    stack.stop_service("gamification")
    body, _ = mentor_dashboard(stack)
    assert body["unavailable"] == ["gamification"]
    assert [(s["streak"], s["points"]) for s in body["students"]] == [(None, None)] * 2
    for _ in range(5):  # the breaker, shared by the workers, spares the others the call
        body, elapsed = mentor_dashboard(stack)
        assert body["unavailable"] == ["gamification"] and elapsed < 2
