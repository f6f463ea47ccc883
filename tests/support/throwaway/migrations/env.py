"""Alembic environment of the throw-away service."""

from shared.migrations import run_migrations

run_migrations()
