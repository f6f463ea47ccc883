"""Streak and points from gamification, against real local servers that answer, hang,
fail and refuse: one batch call a dashboard, and a breaker shared by every worker."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.analytics.stream import NOW, event
from tests.support.servers import closed_port

ADMIN = 1_000_000
TIMEOUT = 0.3


class Gamification(ThreadingHTTPServer):
    """A fault injector in gamification's place: `mode` is ok, hang, 500 or garbage."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.mode, self.calls, self.release = "ok", [], threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Gamification

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.calls.append((self.path, body, self.headers.get("Authorization")))
        if self.server.mode == "hang":
            self.server.release.wait(10)
            return
        if self.server.mode == "500":
            raw, status = b'{"title": "boom"}', 500
        elif self.server.mode == "garbage":
            raw, status = b"<html>", 200
        else:
            raw, status = json.dumps({"players": {str(u): {
                "streak": {"current": u % 7, "longest": 9}, "points": {"season": 1, "total": u}}
                for u in body["user_ids"] if u != 2}}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def gamification():
    server = Gamification()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def facts(send):
    send([event("m1", "mentor.assigned", NOW, mentor_id=900, student_id=1),
          event("m2", "mentor.assigned", NOW, mentor_id=900, student_id=2),
          event("e1", "student.enrolled", NOW, student_id=1, cohort_id=1)])


def make(make_app, url: str, **extra):
    return make_app(SERVICES_URL=url, ANALYTICS_GAMIFICATION_TIMEOUT=str(TIMEOUT),
                    ANALYTICS_BREAKER_SECONDS="2", **extra)


def timed_get(app, tokens, path="mentors/900"):
    started = time.monotonic()
    response = app.test_client().get(f"/api/analytics/{path}/dashboard",
                                     headers=tokens.user(ADMIN, "admin"))
    assert response.status_code == 200, response.json
    return response.json, time.monotonic() - started


def test_one_batch_call_fills_streak_and_points(facts, make_app, tokens, gamification):
    app = make(make_app, gamification.url)
    body, _ = timed_get(app, tokens)
    assert [(s["student_id"], s["streak"], s["points"]) for s in body["students"]] == [
        (1, 1, 1), (2, None, None)]  # gamification does not know player 2
    assert body["unavailable"] == []
    (call,) = gamification.calls
    assert call[0] == "/internal/gamification/players/batch"
    assert call[1] == {"user_ids": [1, 2]}
    assert call[2] == f"Bearer {app.config['SERVICE_TOKEN']}"
    student, _ = timed_get(app, tokens, "students/1")
    assert (student["streak"], student["points"]) == (1, 1)
    cohort, _ = timed_get(app, tokens, "cohorts/1")
    assert "streak" not in cohort and len(gamification.calls) == 2  # cohorts call nobody


@pytest.mark.parametrize("mode", ["hang", "500", "garbage"])
def test_a_failing_gamification_costs_one_timeout_per_breaker_period(
        facts, make_app, tokens, gamification, mode):
    gamification.mode = mode
    app = make(make_app, gamification.url)
    body, first = timed_get(app, tokens)
    assert body["unavailable"] == ["gamification"]
    assert [s["streak"] for s in body["students"]] == [None, None]
    assert first < TIMEOUT + 1.5
    for _ in range(5):
        body, elapsed = timed_get(app, tokens)
        assert body["unavailable"] == ["gamification"] and elapsed < TIMEOUT
    assert len(gamification.calls) == 1


def test_a_refused_connection_is_not_retried(facts, make_app, tokens):
    app = make(make_app, f"http://127.0.0.1:{closed_port()}")
    body, elapsed = timed_get(app, tokens)
    assert body["unavailable"] == ["gamification"] and elapsed < 1


def test_the_breaker_closes_after_a_good_probe(facts, make_app, tokens, gamification):
    gamification.mode = "500"
    app = make(make_app, gamification.url)
    timed_get(app, tokens)
    gamification.mode = "ok"
    assert timed_get(app, tokens)[0]["unavailable"] == ["gamification"]  # still open
    time.sleep(2.1)
    assert timed_get(app, tokens)[0]["unavailable"] == []  # the probe worked
    assert timed_get(app, tokens)[0]["unavailable"] == []
    assert len(gamification.calls) == 3


def test_workers_share_the_breaker_through_redis(facts, make_app, tokens, gamification,
                                                 redis_url):
    gamification.mode = "hang"
    first, second = (make(make_app, gamification.url, CACHE_URL=redis_url) for _ in range(2))
    timed_get(first, tokens)  # pays the timeout, opens the breaker for everyone
    body, elapsed = timed_get(second, tokens)  # another process would see the same
    assert body["unavailable"] == ["gamification"] and elapsed < TIMEOUT
    assert len(gamification.calls) == 1


def test_after_the_period_one_caller_of_all_probes(facts, make_app, tokens, gamification,
                                                   redis_url):
    gamification.mode = "hang"
    workers = [make(make_app, gamification.url, CACHE_URL=redis_url) for _ in range(3)]
    timed_get(workers[0], tokens)
    time.sleep(2.1)
    results = []
    threads = [threading.Thread(target=lambda w=w: results.append(timed_get(w, tokens)))
               for w in workers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 6
    assert len(gamification.calls) == 2  # the first failure, then a single probe
