"""Migrations: up, down to base, up again; and the models match them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from services.storage import create_app
from services.storage.db import db
from shared.migrations import version_table
from tests.support.databases import temporary_database

INDEXES = {"ix_files_owner_created", "ix_files_pending_expires"}


def test_upgrade_downgrade_upgrade(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "storage_migrations") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            assert {i["name"] for i in inspect(db.engine).get_indexes("files")} >= INDEXES
            downgrade(revision="base")
            assert "files" not in inspect(db.engine).get_table_names()
            upgrade()
            assert "files" in inspect(db.engine).get_table_names()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={
                    "compare_type": True, "version_table": version_table("storage")}),
                    db.metadata)
                if backend == "postgresql":
                    definition = conn.exec_driver_sql(
                        "SELECT indexdef FROM pg_indexes "
                        "WHERE indexname = 'ix_files_pending_expires'").scalar()
                    assert "status" in definition and "pending" in definition
            db.engine.dispose()
    assert diff == []
