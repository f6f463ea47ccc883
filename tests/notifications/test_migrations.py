"""Migrations: up, down to base, up again; and the models match them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from services.notifications import create_app
from services.notifications.db import db
from shared.migrations import version_table
from tests.support.databases import temporary_database

INDEXES = {"ix_notifications_user_created", "ix_notifications_unread",
           "ix_notifications_read_at"}


def test_upgrade_downgrade_upgrade(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "migrations") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            assert {i["name"] for i in inspect(db.engine).get_indexes("notifications")} >= INDEXES
            downgrade(revision="base")
            assert "notifications" not in inspect(db.engine).get_table_names()
            upgrade()
            assert "notifications" in inspect(db.engine).get_table_names()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={
                    "compare_type": True, "version_table": version_table("notifications")}),
                    db.metadata)
            db.engine.dispose()
    assert diff == []


def test_unread_index_is_partial_on_postgresql(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "partial") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                definition = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_notifications_unread'"
                    if backend == "sqlite" else
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_notifications_unread'"
                ).scalar()
            db.engine.dispose()
    assert "read_at IS NULL" in definition
