"""A full run's fresh copies of the summary tables: created empty, keyed, swapped in at once.

A full run fills copies (`<table>_next`) instead of rewriting every row in place, which
costs three times as much: each insert checks the primary key against the deleted rows'
entries, still in the index, and the table grows by a copy of itself. On PostgreSQL two
connections fill them side by side (see recompute.py); the second commits its copies for
the first to swap in, so a run that fails can leave committed copies behind, which the next
run drops before it starts.
"""

from sqlalchemy import text

LEARNERS = ("analytics_student_summaries", "analytics_cohort_summaries")
MENTORS = ("analytics_mentor_summaries", "analytics_mentor_queue")
SUMMARIES = LEARNERS + MENTORS
NEXT = "_next"  # suffix of a summary table's fresh copy (and of its primary key's name)


def create(conn, tables) -> None:
    """Empty copies of `tables` to fill."""
    for table in tables:
        conn.execute(text(f"CREATE TABLE {table}{NEXT} (LIKE {table} INCLUDING DEFAULTS)"))


def key(conn, tables) -> None:
    """Give each filled copy its table's primary key (built by a sort), under its own name."""
    for table in tables:
        name, definition = _primary_key(conn, table)
        conn.execute(text(f"ALTER TABLE {table}{NEXT} ADD CONSTRAINT {name}{NEXT} {definition}"))


def swap(conn, tables) -> None:
    """Replace each table by its keyed copy, which takes the key's name. Readers wait for the
    swap only (catalog changes), then read the new tables; until the commit, the old ones."""
    for table in tables:
        name, _ = _primary_key(conn, table)
        conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text(f"ALTER TABLE {table}{NEXT} RENAME TO {table}"))
        conn.execute(text(f"ALTER TABLE {table} RENAME CONSTRAINT {name}{NEXT} TO {name}"))


def drop_leftovers(conn) -> None:
    """Drop the copies a failed or killed run left (none after a run that finished)."""
    for table in SUMMARIES:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}{NEXT}"))


def _primary_key(conn, table: str) -> tuple[str, str]:
    (name, definition), = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:table AS regclass) AND contype = 'p'"), {"table": table})
    return name, definition
