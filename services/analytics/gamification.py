"""Streak and points from the gamification service: one batch call a dashboard, a short
timeout, and a breaker shared by every worker, so a gamification outage costs dashboards at
most one timeout per breaker period and leaves their other figures as they are."""

import logging

import requests
from flask import Flask, current_app

from shared.breaker import Breaker
from shared.http import service_client

log = logging.getLogger(__name__)
BATCH_PATH = "/internal/gamification/players/batch"
MAX_BATCH = 1000  # the endpoint's limit


def _figure(value, field: str):
    """An integer figure of a player (`current` of the streak, `total` of the points)."""
    inner = value.get(field) if isinstance(value, dict) else None
    return inner if type(inner) is int else None


def player_figures(user_ids: list[int]) -> dict[int, dict] | None:
    """{user id: {"streak", "points"}} for the players gamification knows; None when it
    cannot be reached (or the breaker is open)."""
    if not user_ids:
        return {}
    breaker: Breaker = current_app.extensions["analytics.breaker"]
    if not breaker.allow():
        return None
    timeout = current_app.config["ANALYTICS_GAMIFICATION_TIMEOUT"]
    try:
        response = service_client().post(BATCH_PATH, json={"user_ids": user_ids[:MAX_BATCH]},
                                         retry=False, timeout=(timeout, timeout))
        players = response.json()["players"] if response.status_code == 200 else None
        if not isinstance(players, dict):
            raise ValueError(f"answered {response.status_code}")
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        log.warning("gamification unavailable; dashboards go on without streaks and points",
                    extra={"fields": {"error": str(exc)[:300]}})
        breaker.failed()
        return None
    breaker.succeeded()
    figures = {}
    for key, player in players.items():
        if isinstance(player, dict) and str(key).isdigit():
            figures[int(key)] = {"streak": _figure(player.get("streak"), "current"),
                                 "points": _figure(player.get("points"), "total")}
    return figures


def register_breaker(app: Flask) -> None:
    app.extensions["analytics.breaker"] = Breaker(
        app.extensions["cohort.cache"], "gamification",
        open_seconds=app.config["ANALYTICS_BREAKER_SECONDS"],
        probe_seconds=app.config["ANALYTICS_GAMIFICATION_TIMEOUT"])
