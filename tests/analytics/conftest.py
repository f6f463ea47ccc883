"""The analytics app on a migrated database of each backend, and helpers to send events."""

import pytest

from services.analytics import create_app
from tests.analytics.stream import stream
from tests.support.databases import app_maker, migrated_database
from tests.support.servers import closed_port

EVENTS = "/internal/analytics/events"


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with migrated_database(create_app, backend, tmp_path_factory, "analytics") as url:
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after.
    Gamification is nowhere unless a test starts one: its figures are unavailable."""
    nowhere = f"http://127.0.0.1:{closed_port()}"
    with app_maker(create_app, database_url, SERVICES_URL=nowhere) as make:
        yield make


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
def summary_app(make_app, send):
    """An app serving the summaries, over a generated history of two cohorts."""
    send(stream(seed=5))
    return make_app(USE_ANALYTICS_SUMMARY="on")


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
