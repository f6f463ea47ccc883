"""Alembic environment of the notifications service."""

from shared.migrations import run_migrations

run_migrations()
