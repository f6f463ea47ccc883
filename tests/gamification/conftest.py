"""The gamification app on a migrated database of each backend."""

import pytest

from services.gamification import create_app
from tests.support.databases import empty_tables, migrate, temporary_database


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "gamification") as url:
        migrate(create_app, url)
        yield url


@pytest.fixture
def make_app(database_url):
    """Build apps on the test database with config overrides; rows are deleted after."""
    apps = []

    def make(**overrides):
        app = create_app({"DATABASE_URL": database_url, "COHORT_ENV": "test",
                          "CACHE_URL": "null://", **overrides})
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
