"""The notifications app on a migrated database of each backend."""

import pytest

from services.notifications import create_app
from tests.support.databases import app_maker, migrated_database


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with migrated_database(create_app, backend, tmp_path_factory, "notifications") as url:
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after."""
    with app_maker(create_app, database_url) as make:
        yield make


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
