"""Throwaway databases for a test session: a SQLite file, or a new PostgreSQL database."""

import uuid
from contextlib import contextmanager

import psycopg
from flask_migrate import upgrade
from sqlalchemy import make_url

from tests.support.servers import POSTGRES_URL, require_postgres


@contextmanager
def temporary_database(backend: str, tmp_path_factory, name: str):
    """Yield the URL of an empty database, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / (name + '.db')}"
        return
    require_postgres()
    db_name = f"test_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=db_name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def migrate(create_app, url: str) -> None:
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        upgrade()
        app.extensions["sqlalchemy"].engine.dispose()


def empty_tables(app) -> None:
    """Delete every row the test left (tests commit for real: threads must see each other)."""
    db = app.extensions["sqlalchemy"]
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()


@contextmanager
def migrated_database(create_app, backend: str, tmp_path_factory, name: str):
    """A session's database of one service on `backend`, migrated to its newest revision."""
    with temporary_database(backend, tmp_path_factory, name) as url:
        migrate(create_app, url)
        yield url


@contextmanager
def app_maker(create_app, database_url: str, **defaults):
    """`make(**overrides)` builds the service's app on the test database (COHORT_ENV=test,
    then `defaults`, then the overrides); every row the test committed is deleted after."""
    apps = []

    def make(**overrides):
        app = create_app({"DATABASE_URL": database_url, "COHORT_ENV": "test", **defaults,
                          **overrides})
        apps.append(app)
        return app

    try:
        yield make
    finally:
        if apps:
            empty_tables(apps[0])
        for app in apps:
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()
