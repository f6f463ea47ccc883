"""Migrations: up, down to base, up again; and the models match them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from services.analytics import create_app
from services.analytics.db import db
from shared.migrations import version_table
from tests.support.databases import temporary_database


def test_upgrade_downgrade_upgrade(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "analytics_migrations") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert tables >= set(db.metadata.tables)
            indexes = {i["name"] for i in inspect(db.engine).get_indexes("analytics_submissions")}
            assert "ix_analytics_submissions_pending" in indexes
            downgrade(revision="base")
            assert not set(inspect(db.engine).get_table_names()) & set(db.metadata.tables)
            upgrade()
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={
                    "compare_type": True, "version_table": version_table("analytics")}),
                    db.metadata)
            db.engine.dispose()
    assert diff == []
