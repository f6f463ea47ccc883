"""Migrations: up, down to base, up again; and the models match them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from services.gamification import create_app
from services.gamification.db import db
from shared.migrations import version_table
from tests.support.databases import temporary_database

TABLES = {"players", "submissions", "calendar_days", "activity_days", "awards", "totals",
          "boards", "board_scores", "seasons", "standings", "outbox", "rate_limits"}


def test_upgrade_downgrade_upgrade(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "gmigrations") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            assert "ix_totals_board" in {i["name"] for i in inspect(db.engine).get_indexes(
                "totals")}
            downgrade(revision="base")
            assert not TABLES & set(inspect(db.engine).get_table_names())
            upgrade()
            assert set(inspect(db.engine).get_table_names()) >= TABLES
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn, opts={
                    "compare_type": True, "version_table": version_table("gamification")}),
                    db.metadata)
                revision = conn.exec_driver_sql(
                    "SELECT version_num FROM alembic_version_gamification").scalar()
            db.engine.dispose()
    assert diff == []
    assert revision == "gamification_0001"


def test_the_board_index_orders_points_descending(backend, tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "gboard") as url:
        app = create_app({"DATABASE_URL": url})
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                definition = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_totals_board'"
                    if backend == "sqlite" else
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_totals_board'"
                ).scalar()
            db.engine.dispose()
    assert "points DESC" in definition
