"""The probe service on throwaway databases, and a clean environment for config tests."""

import os
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.config import common_settings
from tests.conftest import Tokens
from tests.shared import service_app
from tests.shared.gunicorn import start as start_gunicorn
from tests.support.databases import empty_tables, temporary_database

# Variables a developer or CI may have exported; the tests choose their own.
CONFIG_VARIABLES = [*(s.name for s in common_settings("any")), "PROMETHEUS_MULTIPROC_DIR"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("USE_") or name == "LOG_QUERY_TIMES":
            monkeypatch.delenv(name)


def _create_tables(url: str) -> None:
    app = service_app.create_app({"DATABASE_URL": url})
    with app.app_context():
        service_app.db.create_all()
        service_app.db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    with temporary_database("sqlite", tmp_path_factory, "probe") as url:
        _create_tables(url)
        yield url


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """The probe's database on each backend (SQLite, then PostgreSQL)."""
    with temporary_database(backend, tmp_path_factory, "probe") as url:
        _create_tables(url)
        yield url


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """The probe's database on PostgreSQL, for what only PostgreSQL has."""
    with temporary_database("postgresql", tmp_path_factory, "probe_pg") as url:
        yield url


def _factory(url: str):
    apps = []

    def make(**overrides):
        app = service_app.create_app({"DATABASE_URL": url, "COHORT_ENV": "test", **overrides})
        apps.append(app)
        return app

    return make, apps


def _clean_up(url: str, apps) -> None:
    """Delete the rows tests committed, and close every app's connections."""
    empty_tables(service_app.create_app({"DATABASE_URL": url}))
    _dispose(apps)


def _dispose(apps) -> None:
    for app in apps:
        if "sqlalchemy" in app.extensions:
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()


@pytest.fixture
def make_app(sqlite_url):
    """Probe apps on SQLite, for tests where the database is not the point."""
    make, apps = _factory(sqlite_url)
    yield make
    _clean_up(sqlite_url, apps)


@pytest.fixture
def make_db_app(database_url):
    """Probe apps on each backend, for tests of what the database does."""
    make, apps = _factory(database_url)
    yield make
    _clean_up(database_url, apps)


@pytest.fixture
def postgres_app(postgres_url):
    make, apps = _factory(postgres_url)
    yield make()
    _dispose(apps)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def db_app(make_db_app):
    return make_db_app()


@pytest.fixture
def db_tokens(db_app) -> Tokens:
    return Tokens(db_app.config)


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[str, str]:
    """A fresh RS256 key pair as PEM text: (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture
def unanswering_port():
    """A port whose accept queue is full, so a new connection attempt hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    yield port
    filler.close()
    listener.close()


@pytest.fixture
def gunicorn(tmp_path):
    """Start the probe under real gunicorn: `gunicorn(workers=2, NAME=value, ...)`."""
    servers = []

    def run(workers: int = 1, **env: str):
        server = start_gunicorn(tmp_path, workers, env)
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()
