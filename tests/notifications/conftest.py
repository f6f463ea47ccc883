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


@pytest.fixture
def app(make_app):
    return make_app()
