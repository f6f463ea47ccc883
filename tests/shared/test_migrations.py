"""Migrations per service: each keeps its revision in its own version table, so services can
share one database, and a database migrated before that is taken over once."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from services.notifications import create_app as notifications_app
from shared.db import sqlalchemy_url
from tests.support import throwaway
from tests.support.databases import temporary_database


def migrate(create_app, url: str, revision: str = "head", down: bool = False) -> None:
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        (downgrade if down else upgrade)(revision=revision)
        app.extensions["sqlalchemy"].engine.dispose()


def state(url: str) -> tuple[set[str], dict[str, str]]:
    """The tables of the database, and each version table's revision."""
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        versions = {t: conn.execute(text(f"SELECT version_num FROM {t}")).scalar()
                    for t in tables if t.startswith("alembic_version")}
    engine.dispose()
    return tables, versions


def test_two_services_share_one_postgresql_database(tmp_path_factory):
    with temporary_database("postgresql", tmp_path_factory, "shared") as url:
        migrate(notifications_app, url)
        migrate(throwaway.create_app, url)  # its first revision is not taken as done
        tables, versions = state(url)
        assert {"notifications", "echoes"} <= tables
        assert versions == {"alembic_version_notifications": "0002",
                            "alembic_version_throwaway": "throwaway_0001"}

        migrate(notifications_app, url, "base", down=True)
        tables, versions = state(url)
        assert "notifications" not in tables and "echoes" in tables
        assert versions["alembic_version_throwaway"] == "throwaway_0001"


def test_a_database_migrated_into_the_shared_version_table_is_taken_over(backend,
                                                                       tmp_path_factory):
    with temporary_database(backend, tmp_path_factory, "legacy") as url:
        migrate(notifications_app, url)
        engine = create_engine(sqlalchemy_url(url))
        with engine.begin() as conn:  # as every database was before version tables per service
            conn.execute(text("ALTER TABLE alembic_version_notifications "
                              "RENAME TO alembic_version"))
        engine.dispose()

        migrate(notifications_app, url)  # would fail creating the table again
        tables, versions = state(url)
        assert "notifications" in tables
        assert versions["alembic_version_notifications"] == "0002"
        assert versions.get("alembic_version") is None
