"""The benchmark's data: a fresh PostgreSQL database, migrated, bulk-loaded and analysed."""

import time
import warnings
from dataclasses import dataclass

import psycopg
from flask_migrate import upgrade
from sqlalchemy import make_url

from services.notifications import counts, create_app
from shared.db import Plan

KIND_SHARES = {"dashboard": 0.7, "profile": 0.3}

# One INSERT ... SELECT over generate_series: the server makes every row, nothing crosses
# the wire. Rows come oldest first, so ids follow time as they do in production. 70% of rows
# are spread evenly over all students, 30% go to the most active tenth. Only the newest 15%
# of rows can be unread, and half of those are: most rows read, a few unread per user.
LOAD_SQL = """
INSERT INTO notifications (user_id, kind, category, title, body, link, dedupe_key,
                           created_at, read_at)
SELECT user_id,
       CASE WHEN random() < %(dashboard_share)s THEN 'dashboard' ELSE 'profile' END,
       (ARRAY['review', 'submission', 'streak', 'season', 'mentor'])[1 + i %% 5],
       'Notification ' || i,
       'Something happened in your cohort that you may want to look at.',
       '/notifications/' || i,
       'bench:' || i,
       created_at,
       CASE WHEN i > %(unread_from)s AND random() < 0.5 THEN NULL
            ELSE created_at + interval '1 minute' * (1 + i %% 600) END
FROM (
    SELECT i,
           CASE WHEN random() < 0.7 THEN 1 + i %% %(students)s
                ELSE 1 + (random() * %(active)s)::bigint %% %(active)s END AS user_id,
           now() - interval '1 second' * (%(notifications)s - i) * %(spacing)s AS created_at
    FROM generate_series(1, %(notifications)s) AS i
) AS rows
"""

# Indexes (the primary key and unique constraint included) are dropped for the load and
# rebuilt from their own definitions afterwards: one sorted build is many times faster
# than two million index insertions, and the result is the migrations' exact indexes.
INDEXES_SQL = """
SELECT i.relname, pg_get_indexdef(x.indexrelid), c.conname, pg_get_constraintdef(c.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = 'notifications'::regclass
"""


@dataclass
class Scale:
    """How much data: students (user ids 1..students) and notifications."""

    students: int
    notifications: int


def admin_url(url: str) -> str:
    """The same server's maintenance database, to create and drop others from."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def database_name(url: str) -> str:
    """The database part of a URL."""
    return make_url(url).database


def recreate_database(url: str) -> None:
    """Drop and create the database of `url` (it must be one the benchmark owns)."""
    name = database_name(url)
    with psycopg.connect(admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    """Drop the database of `url`, connections and all."""
    with psycopg.connect(admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def _app(url: str):
    """The service's app on `url`, without a cache and quiet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # flask-caching warns that null:// caches nothing
        return create_app({"DATABASE_URL": url, "CACHE_URL": "null://", "LOG_LEVEL": "WARNING"})


def migrate(url: str) -> None:
    """Run the notifications service's Alembic migrations."""
    app = _app(url)
    with app.app_context():
        upgrade()
        app.extensions["sqlalchemy"].engine.dispose()


def load(url: str, scale: Scale, log=print) -> float:
    """Fill the notifications table; returns the seconds it took."""
    started = time.perf_counter()
    params = {
        "students": scale.students,
        "active": max(scale.students // 10, 1),
        "notifications": scale.notifications,
        "unread_from": int(scale.notifications * 0.85),
        "dashboard_share": KIND_SHARES["dashboard"],
        # Spread the rows over about a year, whatever their number.
        "spacing": 365 * 86400 / max(scale.notifications, 1),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET synchronous_commit = off")
        indexes = conn.execute(INDEXES_SQL).fetchall()
        with conn.transaction():
            for name, _, constraint, _ in indexes:
                if constraint:
                    conn.execute(f'ALTER TABLE notifications DROP CONSTRAINT "{constraint}"')
                else:
                    conn.execute(f'DROP INDEX "{name}"')
            conn.execute(LOAD_SQL, params)
        log(f"  inserted {scale.notifications:,} rows in {time.perf_counter() - started:.1f} s")
        for _, definition, constraint, constraint_def in indexes:
            if constraint:
                conn.execute(
                    f'ALTER TABLE notifications ADD CONSTRAINT "{constraint}" {constraint_def}')
            else:
                conn.execute(definition)
        conn.execute("SELECT setval(pg_get_serial_sequence('notifications', 'id'),"
                     " (SELECT max(id) FROM notifications))")
        log(f"  rebuilt {len(indexes)} indexes at {time.perf_counter() - started:.1f} s")
        # Sets the visibility map (index-only scans) and the planner's statistics.
        conn.execute("VACUUM (ANALYZE) notifications")
    return time.perf_counter() - started


def summary(url: str) -> dict:
    """Row counts of the loaded data, for the report."""
    with psycopg.connect(url) as conn:
        total, unread, users, users_unread = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE read_at IS NULL), count(DISTINCT user_id),"
            " count(DISTINCT user_id) FILTER (WHERE read_at IS NULL) FROM notifications"
        ).fetchone()
    return {"notifications": total, "unread": unread, "users": users,
            "users_with_unread": users_unread}


def explain_unread_count(url: str, user_id: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the very statement the service runs for the count."""
    app = _app(url)
    with app.app_context():
        engine = app.extensions["sqlalchemy"].engine
        plan = Plan(counts.COUNT_UNREAD, engine.dialect)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + plan.sql,
                                        plan.bind({"user_id": user_id})).fetchall()
        engine.dispose()
    return "\n".join(row[0] for row in rows)
