"""Alembic environment of the storage service."""

from shared.migrations import run_migrations

run_migrations()
