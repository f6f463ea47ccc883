"""The SQLAlchemy and Alembic extensions, bound to each service's app in its factory."""

import operator
import select
import sqlite3
import time
from collections import namedtuple
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, TypeDecorator, event, make_url
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

from shared.dbguard import Guard
from shared.observability import record_query

# Named constraints, so migrations can drop them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A pooled connection idle longer than this is pinged before use: a firewall may have
# dropped it without a word. Busier ones are only checked for a close the server sent.
PING_AFTER_IDLE_SECONDS = 60

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Database(SQLAlchemy):
    """Flask-SQLAlchemy with the lean paths every endpoint should take.

    A read is one statement in autocommit: one round trip to the database, no BEGIN and
    ROLLBACK around it and no ORM session. A write is one transaction on a pooled
    connection: BEGIN, its statements, COMMIT. Rows come back as tuples; building an ORM
    object per row costs more than the query on a page of results.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plans: dict = {}  # statement -> Plan, for fetch

    def rows(self, statement, params: dict | None = None) -> list:
        """Every row of one read statement, in autocommit."""
        with self._autocommit() as conn:
            return conn.execute(statement, params or {}).all()

    def row(self, statement, params: dict | None = None):
        """The first row of one read statement (None when there is none), in autocommit."""
        with self._autocommit() as conn:
            return conn.execute(statement, params or {}).first()

    def value(self, statement, params: dict | None = None):
        """The first column of the first row of one read statement, in autocommit."""
        with self._autocommit() as conn:
            return conn.execute(statement, params or {}).scalar()

    def fetch(self, statement, params: dict | None = None) -> list[tuple]:
        """`rows` for the hottest statements: a read, or one write with RETURNING (in
        autocommit, its own transaction); rows are named tuples.

        On PostgreSQL the statement runs straight on the pooled psycopg connection with its
        SQL compiled once: a fifth of the CPU SQLAlchemy's execution and result machinery
        take for the same statement. `statement` must be built once (a module constant, or
        one of a few cached variants: its compiled form is kept for good) and return typed
        columns (`select()`, `text().columns()`, `.returning()`). Elsewhere it is `rows`.
        """
        engine = self.engine
        if engine.dialect.name != "postgresql":
            return self.rows(statement, params)
        plan = self._plans.get(statement)
        if plan is None:
            plan = self._plans[statement] = Plan(statement, engine.dialect)
        values = plan.bind(params or {})
        try:  # the pool's checkout: its liveness check and the breaker
            pooled = engine.raw_connection()
        except psycopg.Error as exc:  # as SQLAlchemy's own paths raise it
            raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc
        try:
            driver = pooled.driver_connection
            driver.autocommit = True
            started = time.perf_counter()
            try:
                rows = driver.execute(plan.sql, values).fetchall()
            except psycopg.Error as exc:
                if isinstance(exc, psycopg.OperationalError):
                    pooled.invalidate(exc)
                raise DBAPIError.instance(plan.sql, values, exc, psycopg.Error) from exc
            finally:
                record_query(plan.sql, time.perf_counter() - started)
                if not driver.closed:
                    driver.autocommit = False
        finally:
            pooled.close()
        return plan.convert(rows)

    def fetch_one(self, statement, params: dict | None = None):
        """The first row `fetch` gives, or None."""
        rows = self.fetch(statement, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self):
        """A connection in a transaction, committed when the block ends, rolled back if it
        raises. A single write statement needs none: `rows` runs it as its own transaction."""
        with self.engine.begin() as conn:
            yield conn

    def _autocommit(self) -> Connection:
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


class Plan:
    """A statement compiled once for psycopg: its SQL, how to bind its parameters (an
    expanding IN becomes `= ANY(array)`; a list of integers goes as the array's text, which
    the driver sends as it is where it would check every element) and how to convert its
    result columns."""

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names:
            raise ValueError("Database.fetch needs plain parameter names")
        self.compiled, self.sql = compiled, compiled.string
        self.binds, self.arrays = {}, []
        for key, parameter in compiled.binds.items():
            if parameter.expanding and isinstance(parameter.type, Integer):
                array = f"CAST(%({key})s AS {parameter.type.compile(dialect)}[])"
                self.sql = self.sql.replace(f"IN (__[POSTCOMPILE_{key}])", f"= ANY({array})")
                self.arrays.append(key)
                continue
            if parameter.expanding:
                self.sql = self.sql.replace(f"IN (__[POSTCOMPILE_{key}])", f"= ANY(%({key})s)")
            process = parameter.type.bind_processor(dialect)
            if process is not None:
                self.binds[key] = process
        if "__[POSTCOMPILE_" in self.sql:
            raise ValueError("Database.fetch takes expanding parameters only in `IN :name`")
        columns = statement.exported_columns
        self.results = [(i, process) for i, c in enumerate(columns)
                        if (process := c.type.result_processor(dialect, None)) is not None]
        self.make = namedtuple("Row", [c.key for c in columns], rename=True)._make

    def bind(self, params: dict) -> dict:
        values = self.compiled.construct_params(params)
        for key in self.arrays:
            values[key] = integer_array(values[key])
        for key, process in self.binds.items():
            value = values[key]
            values[key] = [process(v) for v in value] if isinstance(value, list) else \
                process(value)
        return values

    def convert(self, rows: list[tuple]) -> list[tuple]:
        """Rows as named tuples: by position or by column name, as SQLAlchemy's rows."""
        make = self.make
        if not self.results:
            return [make(row) for row in rows]
        converted = []
        for row in rows:
            row = list(row)
            for i, process in self.results:
                row[i] = process(row[i])
            converted.append(make(row))
        return converted


def integer_array(values) -> str:
    """A list of integers as PostgreSQL's array text (`{1,2,3}`)."""
    return "{" + ",".join(str(operator.index(v)) for v in values) + "}"


def make_db() -> Database:
    """A fresh SQLAlchemy extension with its own metadata (each service owns its tables)."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING)

    return Database(model_class=Base)


def register_db(app: Flask, db: SQLAlchemy, migrations: str) -> None:
    url = make_url(sqlalchemy_url(app.config["DATABASE_URL"]))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config))
    db.init_app(app)
    if url.get_backend_name() == "postgresql":
        config = app.config
        guard = Guard(config["DATABASE_STATEMENT_TIMEOUT"], config["DATABASE_RETRY_AFTER"])
        with app.app_context():
            guard.install(db.engine)
    Migrate(app, db, directory=migrations, compare_type=True, render_as_batch=True)


def sqlalchemy_url(url: str) -> str:
    """postgresql:// means the psycopg 3 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def engine_options(config) -> dict:
    """Pool and connection settings from the DATABASE_* settings."""
    if config["DATABASE_URL"].startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # Without these a database that drops packets holds a worker (and readiness) for the
    # kernel's TCP timeout, minutes, instead of failing fast. No pool_pre_ping: it costs
    # every request a round trip; _check_liveness below costs none.
    millis = lambda name: int(config[name] * 1000)  # noqa: E731
    options = (f"-c statement_timeout={millis('DATABASE_STATEMENT_TIMEOUT')} "
               "-c idle_in_transaction_session_timeout="
               f"{millis('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT')}")
    return {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800,
            "pool_timeout": config["DATABASE_POOL_TIMEOUT"],
            "connect_args": {
                "connect_timeout": config["DATABASE_CONNECT_TIMEOUT"],
                "options": options,
                "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3,
                "keepalives_count": 3,
                "tcp_user_timeout": millis("DATABASE_TCP_USER_TIMEOUT"),
            }}


@event.listens_for(Pool, "checkin")
def _note_checkin(dbapi_connection, record):
    record.info["checked_in"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _check_liveness(dbapi_connection, record, proxy):
    """Hand out a PostgreSQL connection only if it is still alive, without a round trip.

    An idle connection has nothing to read: if its socket is readable, the server has closed
    it (a restart, a terminated backend), and the pool opens a new one instead of failing
    the request. One idle for long is pinged as well: a firewall may have dropped it quietly.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        return
    try:
        if select.select([dbapi_connection.fileno()], [], [], 0)[0]:
            raise DisconnectionError("the server closed this connection")
        now = time.monotonic()
        if now - record.info.get("checked_in", now) >= PING_AFTER_IDLE_SECONDS:
            autocommit = dbapi_connection.autocommit
            dbapi_connection.autocommit = True
            try:
                dbapi_connection.execute("SELECT 1")
            finally:
                dbapi_connection.autocommit = autocommit
    except DisconnectionError:
        raise
    except Exception as exc:  # a closed socket, or a ping that failed
        raise DisconnectionError(str(exc)) from exc


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

    def result_processor(self, dialect, coltype):
        if dialect.name == "postgresql":  # timestamptz comes back aware: nothing to do a row
            return None
        return super().result_processor(dialect, coltype)

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
