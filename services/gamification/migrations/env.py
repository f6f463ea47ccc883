"""Alembic environment of the gamification service."""

from shared.migrations import run_migrations

run_migrations()
