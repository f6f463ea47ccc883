"""What the benchmark measures in this process: recompute and ingest against their bare
baselines, and per request CPU, queries and PostgreSQL round trips."""

import random
import time
import warnings
from datetime import UTC, datetime, timedelta

import psycopg

from services.analytics import create_app
from services.analytics.recompute import recompute
from shared.locks import command_lock
from shared.observability import count_queries
from tests.support.proxy import proxy_to

BATCH = 5000
BARE_GROUP_BY = "SELECT student_id, count(*) FROM analytics_submissions GROUP BY student_id"


def app_for(url: str, **config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_app({"DATABASE_URL": url, "CACHE_URL": "null://", "LOG_LEVEL": "WARNING",
                           "SERVICES_URL": "http://127.0.0.1:9", **config})


def bare_group_by(url: str) -> float:
    """Seconds of one GROUP BY student over the submissions (the second of two runs)."""
    with psycopg.connect(url) as conn:
        conn.execute("SET work_mem = '256MB'")
        for _ in range(2):
            started = time.perf_counter()
            conn.execute(BARE_GROUP_BY).fetchall()
            seconds = time.perf_counter() - started
    return seconds


def timed_recompute(app, **options) -> tuple[float, str]:
    with app.app_context(), command_lock(app.extensions["sqlalchemy"], "recompute-analytics"):
        started = time.perf_counter()
        report = recompute(**options)
        return time.perf_counter() - started, str(report)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def cohort_events(scale, cohort: int, tag: str) -> list[dict]:
    """New facts for one cohort's students: two submissions each, one reviewed."""
    now, events = datetime.now(UTC), []
    first = (cohort - 1) * 25 + 1
    for student in range(first, first + 25):
        for n in range(2):
            sid = 10**12 + student * 10 + n
            events.append({"id": f"{tag}s{sid}", "type": "submission.created",
                           "occurred_at": _iso(now - timedelta(hours=3)),
                           "data": {"submission_id": sid, "student_id": student,
                                    "assignment_id": 1}})
        events.append({"id": f"{tag}r{sid}", "type": "submission.reviewed",
                       "occurred_at": _iso(now), "data": {
                           "submission_id": sid, "mentor_id": scale.mentor_of(student),
                           "score": 77, "outcome": "approved"}})
    return events


def ingest_events(scale, count: int, seed: int = 1) -> list[dict]:
    """`count` events about existing students: new submissions, reviews, some roster moves."""
    rng, now, events = random.Random(seed), datetime.now(UTC), []
    for i in range(count):
        student = rng.randrange(1, scale.students + 1)
        sid = 2 * 10**12 + i // 2
        at = _iso(now - timedelta(seconds=count - i))
        if i % 20 == 19:
            events.append({"id": f"i{i}", "type": "mentor.assigned", "occurred_at": at,
                           "data": {"mentor_id": scale.mentor_of(student), "student_id": student}})
        elif i % 2 == 0:
            events.append({"id": f"i{i}", "type": "submission.created", "occurred_at": at,
                           "data": {"submission_id": sid, "student_id": student,
                                    "assignment_id": 1 + i % 20}})
        else:
            events.append({"id": f"i{i}", "type": "submission.reviewed", "occurred_at": at,
                           "data": {"submission_id": sid, "mentor_id": 900001,
                                    "score": i % 101, "outcome": "approved"}})
    return events


def ingest(app, events: list[dict]) -> float:
    """Seconds to post `events` in batches of 5,000 through the app (JSON, checks, writes)."""
    client, headers = app.test_client(), {"Authorization": f"Bearer {app.config['SERVICE_TOKEN']}"}
    started = time.perf_counter()
    for start in range(0, len(events), BATCH):
        response = client.post("/internal/analytics/events", headers=headers,
                               json={"events": events[start:start + BATCH]})
        if response.status_code != 200:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.data[:300]}")
    return time.perf_counter() - started


def plain_insert(url: str, events: list[dict]) -> float:
    """Seconds to insert the same rows, batches of 5,000 a transaction, into a bare table."""
    rows = [(e["id"], e["type"], e["occurred_at"], psycopg.types.json.Jsonb(e["data"]))
            for e in events]
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_plain_events")
        conn.execute("CREATE TABLE bench_plain_events (id text PRIMARY KEY, type text NOT NULL, "
                     "occurred_at timestamptz NOT NULL, data jsonb NOT NULL)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for start in range(0, len(rows), BATCH):
                cursor.executemany("INSERT INTO bench_plain_events VALUES (%s, %s, %s, %s)",
                                   rows[start:start + BATCH])
                conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_plain_events")
        conn.commit()
    return seconds


def per_request(url: str, paths: list[tuple[str, dict]], flag: str, repeat: int) -> dict:
    """Per dashboard: queries, PostgreSQL round trips and CPU microseconds a request, in
    this process, through a proxy that counts round trips."""
    with proxy_to(url) as (proxy, proxied):
        app = app_for(proxied, USE_ANALYTICS_SUMMARY=flag)
        client = app.test_client()
        found = {}
        for name, (path, headers) in paths:
            client.get(path, headers=headers)  # warm: connections, caches
            with count_queries() as stats, proxy.counting() as trips:
                cpu = time.process_time()
                for _ in range(repeat):
                    response = client.get(path, headers=headers)
                cpu = time.process_time() - cpu
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            found[name] = {"queries": stats.count / repeat, "round_trips": trips() / repeat,
                           "cpu_us": round(cpu / repeat * 1e6)}
        with app.app_context():
            app.extensions["sqlalchemy"].engine.dispose()
    return found
