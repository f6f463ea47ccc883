"""The baseline: a bare Flask app that answers a constant JSON body at any path.

Served by gunicorn with the services' settings behind the same nginx, in the place of the
service a scenario measures, it gets exactly the requests the service would and measures what
the stack itself costs; every scenario is reported as a ratio to it.
"""

from flask import Flask

BODY = {"unread_count": 3, "dashboard": 2, "profile": 1}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app() -> Flask:
    """A Flask app with nothing but the constant endpoint."""
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def constant(path):
        return BODY

    return app
