"""Alembic environment of the analytics service."""

from shared.migrations import run_migrations

run_migrations()
