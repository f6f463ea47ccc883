"""The analytics service: facts in (events), dashboards out, live or pre-computed."""

from pathlib import Path

from flask import Flask

from services import SERVICES
from services.analytics.cli import register_commands
from services.analytics.db import db
from services.analytics.gamification import register_breaker
from services.analytics.routes import api, internal
from shared.app import create_service_app
from shared.config import Setting, number
from shared.db import register_db

MIGRATIONS = str(Path(__file__).parent / "migrations")

SETTINGS = [
    Setting("ANALYTICS_MAX_AGE", number(int, 60, 30 * 86400), 7200,
            "seconds after which /health/ready/ warns that the last recompute is too old"),
    Setting("ANALYTICS_GAMIFICATION_TIMEOUT", number(float, 0.01, 30), 0.5,
            "seconds a dashboard waits for gamification's streaks and points"),
    Setting("ANALYTICS_BREAKER_SECONDS", number(float, 1, 3600), 30.0,
            "seconds dashboards skip gamification after a failed call (every worker)"),
]


def create_app(config=None) -> Flask:
    app = create_service_app(SERVICES["analytics"], __name__, SETTINGS, config)
    register_db(app, db, MIGRATIONS)
    app.register_blueprint(api)
    app.register_blueprint(internal)
    register_commands(app)
    register_breaker(app)
    return app
