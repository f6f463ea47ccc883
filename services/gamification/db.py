"""The gamification service's own database extension, its write transactions and locks."""

import zlib
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite

from shared.db import make_db

db = make_db()

# Awards and player changes take it shared, season changes and freezes exclusively: a season
# created (or frozen) never misses an award committed beside it.
SEASONS_LOCK = zlib.crc32(b"gamification:seasons")
SHARED_LOCK = text("SELECT pg_advisory_xact_lock_shared(:key)")
EXCLUSIVE_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


@contextmanager
def write_transaction(*, seasons: str | None = None):
    """A transaction whose reads see what its writes will go over.

    SQLite's driver begins a transaction only at the first write, so the reads before it
    would run outside any lock: a write that touches no row takes the database's write lock
    first (and so serializes everything). On PostgreSQL `seasons` ("shared" or "exclusive")
    takes the seasons lock; row locks (FOR UPDATE) do the rest.
    """
    with db.transaction() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("UPDATE seasons SET id = id WHERE 0")
        elif seasons:
            conn.execute(EXCLUSIVE_LOCK if seasons == "exclusive" else SHARED_LOCK,
                         {"key": SEASONS_LOCK})
        yield conn


def upsert(conn, table):
    """An INSERT that can say ON CONFLICT, for the connection's dialect."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
