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
    """A FROM item reading the JSON array of arrays bound as :rows, one row each, its items
    the `columns` (name, PostgreSQL type) in order.

    One parameter carries a whole batch, so one statement writes it: no parameter limit, no
    statement per row. Arrays read by position, as jsonb, cost PostgreSQL half what
    json_to_recordset takes over objects, and Python less to build and encode.
    """
    if is_postgres(conn):
        picks = ", ".join(f"CAST(r->>{i} AS {kind}) AS {name}"
                          for i, (name, kind) in enumerate(columns))
        return f"(SELECT {picks} FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r) AS x"
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}"
                      for i, (name, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(:rows)) AS x"


def rows_param(conn, columns: list[tuple[str, str]], rows: list[tuple]) -> str:
    """The :rows JSON of `rows`, each in the order of `columns`; their timestamptz items are
    ISO strings (what PostgreSQL parses), rewritten as SQLite stores times."""
    if not is_postgres(conn):
        times = {i for i, (_, kind) in enumerate(columns) if kind == "timestamptz"}
        rows = [[time_param(conn, as_time(v)) if i in times else v for i, v in enumerate(row)]
                for row in rows]
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
