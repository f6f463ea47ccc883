"""What differs between PostgreSQL and SQLite in the analytics SQL, in one place."""

import json
from datetime import UTC, datetime

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def is_postgres(conn) -> bool:
    return conn.dialect.name == "postgresql"


def time_param(conn, moment: datetime | None):
    """A time as a bind value of a text() statement: SQLite compares the stored strings."""
    if moment is None or is_postgres(conn):
        return moment
    return moment.astimezone(UTC).strftime(SQLITE_TIME)


def as_time(value) -> datetime | None:
    """A time read back from a text() statement (SQLite returns its stored string)."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rows_source(conn, columns: list[tuple[str, str]]) -> str:
    """A FROM item reading the JSON array of objects bound as :rows, one row each.

    One parameter carries a whole batch, so one statement writes it: no parameter limit, no
    statement per row. `columns` are (name, PostgreSQL type).
    """
    if is_postgres(conn):
        spec = ", ".join(f"{name} {kind}" for name, kind in columns)
        return f"json_to_recordset(CAST(:rows AS json)) AS x({spec})"
    picks = ", ".join(f"json_extract(value, '$.{name}') AS {name}" for name, _ in columns)
    return f"(SELECT {picks} FROM json_each(:rows)) AS x"


def rows_param(conn, rows: list[dict], times: tuple[str, ...] = ()) -> str:
    """The :rows JSON of `rows`; their `times` fields are ISO strings (what PostgreSQL
    parses), rewritten as SQLite stores times."""
    if not is_postgres(conn):
        rows = [{**r, **{t: time_param(conn, as_time(r[t])) for t in times}} for r in rows]
    return json.dumps(rows, separators=(",", ":"))


def count_list(conn, expressions: list[str]) -> str:
    """SQL of the counts `expressions` as one text, "3,0,1", for joined_counts()."""
    if is_postgres(conn):
        return f"array_to_string(ARRAY[{', '.join(expressions)}], ',')"
    return " || ',' || ".join(f"({e})" for e in expressions)


def joined_counts(lists: list[tuple[str, int]]) -> str:
    """SQL building the JSON array (as text) of the count_list() columns `lists` (column,
    length) one after the other; a NULL list (no row joined) counts as zeros."""
    parts = [f"coalesce({column}, '{','.join(['0'] * length)}')" for column, length in lists]
    return "'[' || " + " || ',' || ".join(parts) + " || ']'"


def json_array(conn, expressions: list[str]) -> str:
    """SQL building a JSON array (as text) of the expressions' values."""
    inner = ", ".join(expressions)
    if is_postgres(conn):
        return f"CAST(json_build_array({inner}) AS text)"
    return f"json_array({inner})"


def duration(conn, later: str, earlier: str) -> str:
    """An orderable SQL expression for `later - earlier`."""
    if is_postgres(conn):
        return f"({later} - {earlier})"
    return f"(julianday({later}) - julianday({earlier}))"
