"""The analytics app on a migrated database of each backend, and helpers to send events."""

import pytest

from services.analytics import create_app
from tests.support.databases import empty_tables, migrate, temporary_database
from tests.support.servers import closed_port

EVENTS = "/internal/analytics/events"


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "analytics") as url:
        migrate(create_app, url)
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after."""
    apps = []

    def make(**overrides):
        # Gamification is nowhere unless a test starts one: its figures are unavailable.
        overrides.setdefault("SERVICES_URL", f"http://127.0.0.1:{closed_port()}")
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
def send(client, tokens):
    """Post events through the internal API, as the core app does; returns the answer."""

    def post(events, status=200, partial=False):
        url = EVENTS + ("?partial=true" if partial else "")
        response = client.post(url, json={"events": list(events)}, headers=tokens.service)
        assert response.status_code == status, response.json
        return response.json

    return post


@pytest.fixture
def counts(app):
    """Rows in each analytics table."""
    from sqlalchemy import func, select

    db = app.extensions["sqlalchemy"]

    def count() -> dict:
        with app.app_context():
            return {t.name: db.session.scalar(select(func.count()).select_from(t))
                    for t in db.metadata.sorted_tables}

    return count
