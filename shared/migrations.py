"""The Alembic environment every service's migrations/env.py runs."""

from alembic import context
from flask import current_app


def run_migrations() -> None:
    """Run the service's migrations against the app's engine (or emit SQL offline)."""
    migrate = current_app.extensions["migrate"]
    metadata = migrate.db.metadata
    engine = migrate.db.engine
    if context.is_offline_mode():
        context.configure(url=engine.url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          **migrate.configure_args)
        with context.begin_transaction():
            context.run_migrations()
