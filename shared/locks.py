"""Locks that keep two copies of a command from running at once."""

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from shared.config import VAR_DIR
from shared.dbguard import command_statements


class AlreadyRunning(RuntimeError):
    """Another copy of the command holds the lock."""


def _lock_file(db: SQLAlchemy, name: str) -> Path:
    # Beside the database file, so copies share a lock exactly when they share the data.
    database = db.engine.url.database
    if not database or database == ":memory:":
        return VAR_DIR / f"{name}.lock"
    path = Path(database).resolve()
    return path.with_name(f"{path.name}.{name}.lock")


@contextmanager
def command_lock(db: SQLAlchemy, name: str):
    """Run a command: alone (a PostgreSQL advisory lock, or a file lock beside an embedded
    database), its statements allowed DATABASE_COMMAND_TIMEOUT each instead of a request's
    DATABASE_STATEMENT_TIMEOUT."""
    with command_statements(current_app.config["DATABASE_COMMAND_TIMEOUT"]), _alone(db, name):
        yield


@contextmanager
def _alone(db: SQLAlchemy, name: str):
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())
        # Autocommit: a session lock needs no transaction, and one left open for the whole
        # command would be cut by idle_in_transaction_session_timeout, dropping the lock.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise AlreadyRunning(name)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    path = _lock_file(db, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(name) from None
        yield
