"""The gamification service's own database extension, and its write transactions."""

from contextlib import contextmanager

from shared.db import make_db

db = make_db()


@contextmanager
def write_transaction():
    """A transaction whose reads see what its writes will go over.

    SQLite's driver begins a transaction only at the first write, so the reads before it
    would run outside any lock: a write that touches no row takes the database's write lock
    first. PostgreSQL's row locks (FOR UPDATE, FOR SHARE) do that work there.
    """
    with db.transaction() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("UPDATE seasons SET id = id WHERE 0")
        yield conn
