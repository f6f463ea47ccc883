"""The benchmark's data: players, a running season and its board, loaded in bulk as the
service keeps them (totals, score buckets, the board's size and version)."""

import time

import psycopg
from flask_migrate import upgrade
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from services.gamification import create_app
from services.gamification.leaderboard import statement_params
from shared.demo import cohort_of
from tests.bench.dataset import database_name, drop_database, recreate_database  # noqa: F401

ZONES = "ARRAY['Asia/Kolkata', 'Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Tokyo']"
COHORT = 1  # every player in one cohort: one board of them all, the worst case for ranks

LOAD = f"""
INSERT INTO players (user_id, cohort_id, display_name, leetcode_username, timezone,
                     run_length, longest, last_active_date, synced_at, created_at, updated_at)
SELECT i, {COHORT}, 'Player ' || i, CASE WHEN i <= %(synced)s THEN 'bench_' || i END,
       ({ZONES})[1 + i %% 5], i %% 17, i %% 17 + i %% 5, current_date - (i %% 3),
       now(), now(), now()
FROM generate_series(1, %(players)s) AS i;
INSERT INTO seasons (id, name, cohort_id, starts_at, ends_at, frozen, created_at)
VALUES (1, 'Benchmark season', NULL, now() - interval '10 days', now() + interval '30 days',
        false, now());
SELECT setval(pg_get_serial_sequence('seasons', 'id'), 1);
INSERT INTO totals (user_id, season_id, cohort_id, points)
SELECT i, s, {COHORT}, 5 * floor(power(random(), 2) * 400)::bigint
FROM generate_series(1, %(players)s) AS i, (VALUES (0), (1)) AS seasons(s);
INSERT INTO board_scores (season_id, cohort_id, points, players)
SELECT season_id, cohort_id, points, count(*) FROM totals WHERE season_id = 1
GROUP BY season_id, cohort_id, points;
INSERT INTO boards (season_id, cohort_id, version, players)
SELECT 1, {COHORT}, (random() * 1e12)::bigint, count(*) FROM totals WHERE season_id = 1;
"""


def migrate(url: str) -> None:
    app = create_app({"DATABASE_URL": url, "CACHE_URL": "null://", "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        app.extensions["sqlalchemy"].engine.dispose()


def load(url: str, players: int, synced: int, log=print) -> float:
    """A fresh database with `players` players (the first `synced` with a LeetCode username)."""
    started = time.perf_counter()
    recreate_database(url)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.transaction():
            for statement in filter(str.strip, LOAD.split(";\n")):
                needs = {k: v for k, v in (("players", players), ("synced", synced))
                         if f"%({k})s" in statement}
                conn.execute(statement if needs else statement.replace("%%", "%"), needs)
        conn.execute("VACUUM (ANALYZE)")
    log(f"  loaded {players:,} players in {time.perf_counter() - started:.1f} s "
        f"(cohort {cohort_of(1)})")
    return time.perf_counter() - started


def explain(url: str, statement, me: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one of the SQL path's reads, on the loaded data."""
    sql = str(statement.compile(dialect=psycopg_dialect()))
    params = statement_params(1, COHORT, limit=50, offset=0, me=me, size=0)
    with psycopg.connect(url) as conn:
        rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    return "\n".join(r[0] for r in rows)
