"""Gamification through the real gateway: final ranks reach every player exactly once though
the notifications service was down when the season closed; the board from Redis."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import redis
import requests

from services.gamification import create_app as gamification_app
from services.notifications import create_app as notifications_app
from shared.config import ROOT
from shared.db import isoformat_z, utcnow
from tests.stack.conftest import running_stack, stack_env, tokens
from tests.support.databases import migrate, temporary_database
from tests.support.servers import REDIS_URL, require_postgres, require_redis

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.redis, pytest.mark.nginx]
PLAYERS = range(2001, 2013)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_postgres()
    require_redis()
    redis.Redis.from_url(REDIS_URL).flushdb()
    with temporary_database("postgresql", tmp_path_factory, "gstack_n") as notifications, \
            temporary_database("postgresql", tmp_path_factory, "gstack_g") as gamification:
        migrate(notifications_app, notifications)
        migrate(gamification_app, gamification)
        env = stack_env(NOTIFICATIONS_DATABASE_URL=notifications,
                        GAMIFICATION_DATABASE_URL=gamification, CACHE_URL=REDIS_URL)
        with running_stack(tmp_path_factory.mktemp("gstack"), env) as running:
            running.gamification_url = gamification
            yield running
    redis.Redis.from_url(REDIS_URL).flushdb()


def command(stack, *args) -> subprocess.CompletedProcess:
    """A gamification command as cron runs it: its own process, the stack's settings."""
    env = {**os.environ, **stack.env, "DATABASE_URL": stack.gamification_url,
           "SERVICES_URL": stack.internal_url, "HTTP_CONNECT_TIMEOUT": "1"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "services.gamification",
                           *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def internal(stack, method, path, **kwargs):
    response = requests.request(method, f"{stack.internal_url}/internal/gamification{path}",
                                headers=tokens.service, timeout=10, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def season_notifications(stack, user):
    response = requests.get(f"{stack.base_url}/api/notifications?limit=100",
                            headers=tokens.user(user, cohort_id=50), timeout=10)
    assert response.status_code == 200, response.text
    return [n["title"] for n in response.json()["items"] if n["category"] == "season"]


def test_final_ranks_arrive_exactly_once_after_an_outage(stack):
    for user in PLAYERS:
        internal(stack, "PUT", f"/players/{user}", json={
            "cohort_id": 50, "display_name": f"Stack {user}", "leetcode_username": None,
            "timezone": "Europe/Berlin"})
    admin = tokens.user(1_000_000, "admin")
    created = requests.post(f"{stack.base_url}/api/gamification/seasons", headers=admin,
                            timeout=10, json={
                                "name": "Stack season", "cohort_id": 50,
                                "starts_at": isoformat_z(utcnow() - timedelta(days=7)),
                                "ends_at": isoformat_z(utcnow() - timedelta(minutes=1))})
    assert created.status_code == 201, created.text
    at = isoformat_z(utcnow() - timedelta(days=2))
    internal(stack, "POST", "/points", json={"awards": [
        {"user_id": u, "points": (u % 4) * 10, "ref": f"stack-{u}", "reason": "review",
         "occurred_at": at} for u in PLAYERS if u % 4]})

    stack.stop_service("notifications")
    closed = command(stack, "update-seasons", "--verbose")
    assert closed.returncode == 0, closed.stderr
    assert "froze 1 seasons" in closed.stdout and "12 players ranked" in closed.stdout
    assert "delivered 0" in closed.stdout and "failed" in closed.stdout

    stack.start_service("notifications")
    stack.wait_ready()
    delivered = command(stack, "deliver-notifications", "--retry-now")
    assert delivered.returncode == 0 and "delivered 4" in delivered.stdout, delivered.stdout
    again = command(stack, "deliver-notifications", "--retry-now")
    assert "delivered 0, failed 0 (retried later), 0 still pending" in again.stdout
    ranks = {u: (1 if u % 4 == 3 else 4 if u % 4 == 2 else 7 if u % 4 == 1 else 10)
             for u in PLAYERS}
    for user in PLAYERS:
        assert season_notifications(stack, user) == [
            f"You finished #{ranks[user]} in Stack season"], user


def test_the_board_through_the_gateway(stack):
    headers = tokens.user(PLAYERS[0], cohort_id=50)
    response = requests.get(f"{stack.base_url}/api/gamification/leaderboard?season=1&limit=3",
                            headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["total"] == 12 and board["season"]["frozen"] is True
    assert [e["rank"] for e in board["entries"]] == [1, 1, 1]
    current = requests.get(f"{stack.base_url}/api/gamification/leaderboard", headers=headers,
                           timeout=10)
    assert current.status_code == 404
    health = requests.get(f"{stack.base_url}/health/gamification/ready/", timeout=10).json()
    assert health["checks"]["outbox:responseTime"][0]["status"] == "pass"
