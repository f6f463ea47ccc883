"""The SQLAlchemy and Alembic extensions, bound to each service's app in its factory."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so migrations can drop them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CONNECT_TIMEOUT_SECONDS = 3

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


def make_db() -> SQLAlchemy:
    """A fresh SQLAlchemy extension with its own metadata (each service owns its tables)."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING)

    return SQLAlchemy(model_class=Base)


def register_db(app: Flask, db: SQLAlchemy, migrations: str) -> None:
    url = make_url(sqlalchemy_url(app.config["DATABASE_URL"]))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["DATABASE_URL"]))
    db.init_app(app)
    Migrate(app, db, directory=migrations, compare_type=True, render_as_batch=True)


def sqlalchemy_url(url: str) -> str:
    """postgresql:// means the psycopg 3 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # Without connect_timeout a database that drops packets holds a worker (and readiness)
    # for the kernel's TCP timeout, minutes, instead of failing fast.
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "pool_recycle": 1800,
            "connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, record):
    """WAL lets readers go on while one writer writes (the embedded mode's threads)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; store UTC-aware values")
        return value if value is None or dialect.name != "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def isoformat_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the API promises."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
