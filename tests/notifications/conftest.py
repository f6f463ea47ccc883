"""The notifications app on a migrated database of each backend."""

import pytest

from services.notifications import create_app
from tests.support.databases import empty_tables, migrate, temporary_database


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "notifications") as url:
        migrate(create_app, url)
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after."""
    apps = []

    def make(**overrides):
        app = create_app({"DATABASE_URL": database_url, "COHORT_ENV": "test", **overrides})
        apps.append(app)
        return app

    yield make
    if apps:
        empty_tables(apps[0])
    for app in apps:
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def notify(client, tokens):
    """Create notifications through the internal API, as another service would."""

    def create(user_ids, kind="dashboard", **fields):
        body = {"user_ids": list(user_ids), "kind": kind, "title": "Your review is in", **fields}
        response = client.post("/internal/notifications/", json=body, headers=tokens.service)
        assert response.status_code == 201, response.json
        return response.json["created"]

    return create


@pytest.fixture
def row_count(app):
    """How many notifications the database holds."""
    from sqlalchemy import func, select

    from services.notifications.db import db
    from services.notifications.models import Notification

    def count() -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(Notification))

    return count
