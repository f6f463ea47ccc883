"""The baseline: a bare Flask app whose one endpoint answers a constant JSON body.

Served by gunicorn with the services' settings behind the same nginx, it measures what the
stack itself costs; every scenario is reported as a ratio to it.
"""

from flask import Flask

# The unread count's own URL: wrk sends the baseline exactly the request the service gets.
PATH = "/api/notifications/unread-count"
BODY = {"unread_count": 3, "dashboard": 2, "profile": 1}


def create_app() -> Flask:
    """A Flask app with nothing but the constant endpoint."""
    app = Flask(__name__)

    @app.get(PATH)
    def constant():
        return BODY

    @app.get("/health/live/")
    def live():
        return {"status": "pass"}

    return app
