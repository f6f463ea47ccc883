"""Locks that keep two copies of a command from running at once."""

import fcntl
import zlib
from contextlib import contextmanager
from pathlib import Path

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from shared.config import VAR_DIR


class AlreadyRunning(RuntimeError):
    """Another copy of the command holds the lock."""


@contextmanager
def command_lock(db: SQLAlchemy, name: str):
    """A PostgreSQL advisory lock on PostgreSQL; a file lock beside an embedded database."""
    if db.engine.dialect.name == "postgresql":
        key = zlib.crc32(name.encode())
        with db.engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                raise AlreadyRunning(name)
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with Path(VAR_DIR / f"{name}.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(name) from None
        yield
