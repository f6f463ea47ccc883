"""USE_NOTIFICATION_CACHE: same answers as the database, never stale after a write."""

import random
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.observability import count_queries
from tests.support.servers import closed_port

COUNT = "/api/notifications/unread-count"
LIST = "/api/notifications"


@pytest.fixture(params=["memory", "redis"])
def cache_url(request):
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_url")


@pytest.fixture
def cached_app(make_app, cache_url):
    return make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=cache_url)


def scenario(client, headers):
    """A sequence of calls touching every write path; returns every answer."""
    answers = []
    service = headers["service"]
    post = lambda body: client.post("/internal/notifications/", json=body,  # noqa: E731
                                    headers=service)
    user = headers["user"]
    answers.append(client.get(COUNT, headers=user).json)
    post({"user_ids": [1, 2], "kind": "dashboard", "title": "a"})
    answers.append(client.get(COUNT, headers=user).json)
    post({"user_ids": [1], "kind": "profile", "title": "b", "dedupe_key": "k"})
    post({"user_ids": [1], "kind": "profile", "title": "b", "dedupe_key": "k"})
    answers.append(client.get(COUNT, headers=user).json)
    first = client.get(LIST, headers=user).json["items"][-1]
    answers.append(client.post(f"{LIST}/{first['id']}/read", headers=user).json)
    answers.append(client.get(COUNT, headers=user).json)
    answers.append(client.post(f"{LIST}/read-all?kind=profile", headers=user).json)
    answers.append(client.get(COUNT, headers=user).json)
    post({"user_ids": [1], "kind": "dashboard", "title": "c"})
    answers.append(client.get(COUNT, headers=user).json)
    answers.append(client.post(f"{LIST}/read-all", headers=user).json)
    answers.append(client.get(COUNT, headers=user).json)
    return answers


def test_cache_on_and_off_give_the_same_answers(make_app, cache_url, tokens):
    results = []
    for flag in ("off", "on"):
        app = make_app(USE_NOTIFICATION_CACHE=flag, CACHE_URL=cache_url)
        client = app.test_client()
        results.append(scenario(client, {"user": tokens.user(1), "service": tokens.service}))
        with app.app_context():
            client.post(f"{LIST}/read-all", headers=tokens.user(2))
        from tests.support.databases import empty_tables
        empty_tables(app)
    assert results[0] == results[1]
    assert results[0][-1] == {"unread_count": 0, "dashboard": 0, "profile": 0}


def test_a_cached_poll_runs_no_query(cached_app, tokens):
    client = cached_app.test_client()
    client.post("/internal/notifications/", headers=tokens.service,
                json={"user_ids": [1], "kind": "dashboard", "title": "a"})
    assert client.get(COUNT, headers=tokens.user(1)).json["unread_count"] == 1
    with count_queries() as stats:
        assert client.get(COUNT, headers=tokens.user(1)).json["unread_count"] == 1
    assert stats.count == 0


def test_a_percentage_rollout_is_sticky_per_user(make_app, tokens):
    app = make_app(USE_NOTIFICATION_CACHE="50%", CACHE_URL="memory://")
    client, flag = app.test_client(), app.config["FLAGS"]["USE_NOTIFICATION_CACHE"]
    cached = next(u for u in range(1, 100) if flag.enabled(u))
    plain = next(u for u in range(1, 100) if not flag.enabled(u))
    for user, queries in ((cached, 0), (plain, 1)):
        client.get(COUNT, headers=tokens.user(user))
        with count_queries() as stats:
            assert client.get(COUNT, headers=tokens.user(user)).status_code == 200
        assert stats.count == queries


def test_never_stale_under_concurrent_writes(cached_app, tokens):
    """Every poll that starts after a write returned shows that write.

    User 1 only gains notifications, user 2 only loses unread ones, while other threads poll:
    a poll of user 1 must count at least every create that had returned before it began, and
    a poll of user 2 at most what was left unread by the reads that had returned.
    """
    client = cached_app.test_client()
    service, creates, reads = tokens.service, 40, 40
    client.post("/internal/notifications/", headers=service,
                json={"user_ids": [2], "kind": "profile", "title": "x"})
    for n in range(reads - 1):
        client.post("/internal/notifications/", headers=service,
                    json={"user_ids": [2], "kind": "dashboard", "title": f"{n}"})
    ids = [i["id"] for i in client.get(f"{LIST}?limit=100", headers=tokens.user(2)).json["items"]]
    lock = threading.Lock()
    done = {"created": 0, "read": 0}
    violations = []
    stop = threading.Event()

    def create(n):
        c = cached_app.test_client()
        assert c.post("/internal/notifications/", headers=service, json={
            "user_ids": [1], "kind": random.choice(["dashboard", "profile"]), "title": f"{n}",
        }).status_code == 201
        with lock:
            done["created"] += 1

    def read(notification_id):
        c = cached_app.test_client()
        assert c.post(f"{LIST}/{notification_id}/read", headers=tokens.user(2)).status_code == 200
        with lock:
            done["read"] += 1

    def poll():
        c = cached_app.test_client()
        while not stop.is_set():
            with lock:
                created, read_ = done["created"], done["read"]
            one = c.get(COUNT, headers=tokens.user(1)).json["unread_count"]
            two = c.get(COUNT, headers=tokens.user(2)).json["unread_count"]
            if one < created or two > reads - read_:
                violations.append((one, created, two, reads - read_))

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for thread in pollers:
        thread.start()
    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(create, n) for n in range(creates)]
        jobs += [pool.submit(read, i) for i in ids]
        for job in jobs:
            job.result()
    stop.set()
    for thread in pollers:
        thread.join()
    assert violations == []
    assert client.get(COUNT, headers=tokens.user(1)).json["unread_count"] == creates
    assert client.get(COUNT, headers=tokens.user(2)).json["unread_count"] == 0


class CountingListener:
    """A TCP port that accepts and at once closes connections, counting them (a dead Redis)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("dead", ["closed port", "resetting server"])
def test_with_redis_down_every_endpoint_still_answers(make_app, tokens, dead):
    listener = CountingListener() if dead == "resetting server" else None
    port = listener.port if listener else closed_port()
    app = make_app(USE_NOTIFICATION_CACHE="on", CACHE_URL=f"redis://127.0.0.1:{port}/0",
                   CACHE_RETRY_AFTER="60")
    try:
        reference = make_app(USE_NOTIFICATION_CACHE="off")
        down = scenario(app.test_client(), {"user": tokens.user(1), "service": tokens.service})
        for _ in range(20):
            app.test_client().get(COUNT, headers=tokens.user(1))
        health = app.test_client().get("/health/ready/")
        assert health.status_code == 200
        assert health.json["status"] == "warn"
        assert health.json["checks"]["cache:responseTime"][0]["status"] == "warn"
        if listener:
            # One failed attempt opens the breaker: later requests pay no connection attempt
            # (the readiness check probes on its own, once).
            assert listener.accepted <= 2
    finally:
        if listener:
            listener.close()
    from tests.support.databases import empty_tables
    empty_tables(app)
    plain = scenario(reference.test_client(), {"user": tokens.user(1), "service": tokens.service})
    assert down == plain


def test_a_retried_create_refreshes_every_user_of_the_request(cached_app, tokens):
    """The first attempt committed, then its worker died before invalidating: the retry
    (same dedupe_key) creates nothing new, yet every user's count must be fresh after it."""
    from sqlalchemy import insert

    from services.notifications.db import db
    from services.notifications.models import Notification
    from shared.db import utcnow

    client = cached_app.test_client()
    for user in (1, 2):
        client.get(COUNT, headers=tokens.user(user))  # cached: 0
    with cached_app.app_context(), db.engine.begin() as conn:
        conn.execute(insert(Notification), [
            {"user_id": u, "kind": "dashboard", "category": "general", "title": "t", "body": "",
             "link": "", "dedupe_key": "season-4", "created_at": utcnow()} for u in (1, 2)])
    body = {"user_ids": [1, 2, 3], "kind": "dashboard", "title": "t", "dedupe_key": "season-4"}
    response = client.post("/internal/notifications/", json=body, headers=tokens.service)
    assert response.json == {"created": 1}  # only user 3's row is new
    for user in (1, 2, 3):
        assert client.get(COUNT, headers=tokens.user(user)).json["unread_count"] == 1
