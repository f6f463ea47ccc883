"""The Alembic environment every service's migrations/env.py runs.

Each service keeps its revision in a version table of its own (alembic_version_<service>),
so services can share one database without one taking the other's revision for its own.
"""

from alembic import context
from flask import current_app
from sqlalchemy import inspect, text

from shared.dbguard import command_statements

LEGACY_TABLE = "alembic_version"


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def _adopt_legacy_version(connection, table: str) -> None:
    """A database migrated when every service wrote to alembic_version: move this service's
    revision into its own table, once, so `upgrade` does not create its tables again."""
    tables = set(inspect(connection).get_table_names())
    row = None
    if table not in tables and LEGACY_TABLE in tables:
        row = connection.execute(text(f"SELECT version_num FROM {LEGACY_TABLE}")).first()
    if row is not None and _known(context.script, row[0]):
        connection.execute(text(f"CREATE TABLE {table} "
                                "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        connection.execute(text(f"INSERT INTO {table} VALUES (:v)"), {"v": row[0]})
        connection.execute(text(f"DELETE FROM {LEGACY_TABLE} WHERE version_num = :v"),
                           {"v": row[0]})
    connection.commit()  # alembic begins its own transaction next


def _known(script, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises for an id it does not know
        return False


def run_migrations() -> None:
    """Run the service's migrations against the app's engine (or emit SQL offline), each
    statement allowed DATABASE_COMMAND_TIMEOUT (an index built on a large table)."""
    migrate = current_app.extensions["migrate"]
    metadata = migrate.db.metadata
    engine = migrate.db.engine
    table = version_table(current_app.name)
    if context.is_offline_mode():
        context.configure(url=engine.url, target_metadata=metadata, literal_binds=True,
                          version_table=table)
        with context.begin_transaction():
            context.run_migrations()
        return
    with command_statements(current_app.config["DATABASE_COMMAND_TIMEOUT"]), \
            engine.connect() as connection:
        _adopt_legacy_version(connection, table)
        context.configure(connection=connection, target_metadata=metadata,
                          version_table=table, **migrate.configure_args)
        with context.begin_transaction():
            context.run_migrations()
