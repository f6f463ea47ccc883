"""The analytics service's rows of the fault suite, on real nginx and several gunicorn
workers: its database frozen, a worker killed mid-ingest, gamification hanging behind
every worker at once."""

import json
import os
import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
import requests

from services import SERVICES
from tests.faults.support import fault_stack, wait_for_recovery
from tests.faults.test_workers import workers_of
from tests.gateway.support import assert_problem
from tests.stack.conftest import tokens
from tests.support.databases import empty_tables

pytestmark = [pytest.mark.stack, pytest.mark.nginx, pytest.mark.postgres]

EVENTS = "/internal/analytics/events"
MENTOR = 900_001
BOUND = 8  # seconds: an answer later than this is a hang (the gateway would wait 30s)


@pytest.fixture
def analytics_db(service_database):
    url = service_database("analytics")
    yield url
    empty_tables(SERVICES["analytics"].create_app({"DATABASE_URL": url}))


def batch(tag: str, students=range(1, 6)) -> list[dict]:
    """An enrolment, a mentor and a submission for each student, ids unique to `tag`."""
    at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    events = []
    for s in students:
        events += [
            {"id": f"{tag}-e{s}", "type": "student.enrolled", "occurred_at": at,
             "data": {"student_id": s, "cohort_id": 1}},
            {"id": f"{tag}-m{s}", "type": "mentor.assigned", "occurred_at": at,
             "data": {"mentor_id": MENTOR, "student_id": s}},
            {"id": f"{tag}-s{s}", "type": "submission.created", "occurred_at": at,
             "data": {"submission_id": abs(hash((tag, s))) % 10**15 + 1, "student_id": s,
                      "assignment_id": 1}}]
    return events


def send(stack, events, session=requests) -> requests.Response:
    return session.post(f"{stack.internal_url}{EVENTS}", headers=tokens.service,
                        json={"events": events}, timeout=BOUND)


def dashboard(stack, path: str) -> requests.Response:
    return requests.get(f"{stack.base_url}/api/analytics/{path}/dashboard",
                        headers=tokens.user(1_000_000, "admin"), timeout=BOUND)


def test_a_frozen_database_fails_fast_and_recovers(tmp_path, analytics_db, proxy):
    tcp, url = proxy(analytics_db)
    with fault_stack(tmp_path, services=("analytics",), ANALYTICS_DATABASE_URL=url,
                     CACHE_URL="null://", DATABASE_STATEMENT_TIMEOUT="1",
                     DATABASE_RETRY_AFTER="1") as stack:
        assert send(stack, batch("before")).status_code == 200
        tcp.freeze()
        try:
            for response in (send(stack, batch("during")), dashboard(stack, "students/1"),
                             dashboard(stack, f"mentors/{MENTOR}"),
                             dashboard(stack, "cohorts/1")):
                assert_problem(response, 503)
        finally:
            tcp.thaw()
            tcp.cut()
        wait_for_recovery(lambda: dashboard(stack, "cohorts/1").status_code == 200)
        assert send(stack, batch("during")).json()["accepted"] == 15
        assert dashboard(stack, "cohorts/1").json()["submissions"] == 10


def test_a_worker_killed_during_ingest_loses_and_doubles_nothing(tmp_path, analytics_db):
    with fault_stack(tmp_path, workers=3, services=("analytics",),
                     ANALYTICS_DATABASE_URL=analytics_db, CACHE_URL="null://") as stack:
        acknowledged, stop, lock = [], threading.Event(), threading.Lock()

        def write(writer: int):
            session, n = requests.Session(), 0
            while not stop.is_set():
                n += 1
                tag = f"w{writer}-{n}"
                events = batch(tag, random.sample(range(1, 200), 20))
                for _ in range(20):  # retried as it was, as the core app would
                    try:
                        if send(stack, events, session).status_code == 200:
                            with lock:
                                acknowledged.append(tag)
                            break
                    except requests.RequestException:
                        pass
                    time.sleep(0.05)

        writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in writers:
            thread.start()
        for _ in range(3):
            time.sleep(1)
            os.kill(random.choice(workers_of(stack.pids["analytics"])), signal.SIGKILL)
        time.sleep(1)
        stop.set()
        for thread in writers:
            thread.join(60)

    assert len(acknowledged) > 10
    with psycopg.connect(analytics_db) as conn:
        ledger = dict(conn.execute(
            "SELECT split_part(event_id, '-s', 1), count(*) FROM analytics_events "
            "WHERE type = 'submission.created' GROUP BY 1").fetchall())
        created = conn.execute("SELECT count(*) FROM analytics_submissions").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM analytics_events "
                              "WHERE type = 'submission.created'").fetchone()[0]
    assert [tag for tag in acknowledged if ledger.get(tag) != 20] == []
    assert created == events  # a retried batch wrote nothing twice


class Hanging(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), HangingHandler)
        self.calls, self.release = 0, threading.Event()


class HangingHandler(BaseHTTPRequestHandler):
    server: Hanging

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.server.calls += 1
        self.server.release.wait(10)
        raw = json.dumps({"players": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def test_a_hanging_gamification_costs_one_timeout_across_workers(tmp_path, analytics_db,
                                                                   redis_url):
    server = Hanging()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with fault_stack(tmp_path, workers=3, services=("analytics",),
                         ANALYTICS_DATABASE_URL=analytics_db, CACHE_URL=redis_url,
                         ANALYTICS_SERVICES_URL=f"http://127.0.0.1:{server.server_address[1]}",
                         ANALYTICS_GAMIFICATION_TIMEOUT="0.5",
                         ANALYTICS_BREAKER_SECONDS="60") as stack:
            assert send(stack, batch("g")).status_code == 200
            first = dashboard(stack, f"mentors/{MENTOR}")
            assert first.json()["unavailable"] == ["gamification"]
            started = time.monotonic()
            for _ in range(30):  # spread over every worker
                body = dashboard(stack, f"mentors/{MENTOR}").json()
                assert body["unavailable"] == ["gamification"] and len(body["students"]) == 5
            assert time.monotonic() - started < 30 * 0.5  # not a timeout each
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
    assert server.calls == 1
