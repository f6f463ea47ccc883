"""The notifications service: counts and lists of a user's notifications."""

from pathlib import Path

from flask import Flask

from services import SERVICES
from services.notifications.cli import register_commands
from services.notifications.db import db
from services.notifications.models import cache_state
from services.notifications.poll import register_unread_count_poll
from services.notifications.routes import api, internal
from shared.app import create_service_app
from shared.coherent import register_coherent_cache
from shared.config import Setting, number
from shared.db import register_db

MIGRATIONS = str(Path(__file__).parent / "migrations")

SETTINGS = [
    Setting("NOTIFICATION_CACHE_TTL", number(int, 1, 3600), 30,
            "seconds cached unread counts live (a write replaces them at once anyway)"),
    Setting("NOTIFICATION_POLL_INTERVAL", number(int, 1, 3600), 30,
            "seconds the SPA should wait between polls (X-Poll-Interval)"),
]


def create_app(config=None) -> Flask:
    app = create_service_app(SERVICES["notifications"], __name__, SETTINGS, config)
    register_db(app, db, MIGRATIONS)
    register_coherent_cache(app, db, cache_state)
    app.register_blueprint(api)
    app.register_blueprint(internal)
    register_commands(app)
    register_unread_count_poll(app)
    return app
