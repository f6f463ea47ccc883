"""The fail-open cache: misses when Redis is down, a breaker, recovery, real round trips."""

import contextlib
import logging
import socket
import threading
import time

import pytest
import redis

from tests.support.servers import closed_port


class RedisDoor:
    """A TCP proxy in front of the real Redis that can be shut, as if Redis stopped.

    Shut, it accepts each connection and closes it at once, counting the attempts; open,
    it passes bytes both ways. Nothing of ours is patched: the cache sees a real socket.
    """

    def __init__(self, target: tuple[str, int] | None, is_open: bool = True, db: str = "0"):
        self.target, self.is_open, self.attempts, self.db = target, is_open, 0, db
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._sockets: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.attempts += 1
            if not self.is_open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def shut(self) -> None:
        """Refuse new connections and cut the open ones."""
        self.is_open = False
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self._stopped.set()
        self._thread.join()
        self.shut()
        self._listener.close()


@pytest.fixture
def door():
    """A Redis that is down: every connection attempt is counted and dropped."""
    door = RedisDoor(None, is_open=False)
    yield door
    door.close()


@pytest.fixture
def redis_door(redis_url):
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    door = RedisDoor((host, int(port)), db=redis_url.rsplit("/", 1)[1])
    yield door
    door.close()


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_closed_port_gives_misses_and_false(make_app, caplog):
    app = make_app(CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0", CACHE_RETRY_AFTER="0")
    cache = app.extensions["cohort.cache"]
    with caplog.at_level(logging.WARNING, logger="shared.cache"):
        assert cache.get_many("a", "b") == [None, None]
        assert cache.set("a", 1, 10) is False
        assert cache.add("a", 1, 10) is False
        assert cache.set_many({"a": 1}, 10) is False
    assert cache.ping() is False
    assert any("going on without it" in r.getMessage() for r in caplog.records)


def test_requests_still_answer_while_redis_is_down(make_app):
    client = make_app(CACHE_URL=f"redis://127.0.0.1:{closed_port()}/0").test_client()
    for _ in range(3):
        response = client.get("/api/probe/cached/k")
        assert response.status_code == 200
        assert response.get_json() == {"value": None}


def test_breaker_spares_connection_attempts_while_down(make_app, door):
    cache = make_app(CACHE_URL=door.url(), CACHE_RETRY_AFTER="600").extensions["cohort.cache"]
    assert cache.get_many("a") == [None]
    assert door.attempts == 1
    for _ in range(20):
        assert cache.get_many("a", "b") == [None, None]
        assert cache.set("a", 1, 10) is False
    assert door.attempts == 1  # nothing more tried while the breaker is open
    assert cache.is_down


def test_cache_is_tried_again_once_retry_after_passed(make_app, door):
    cache = make_app(CACHE_URL=door.url(), CACHE_RETRY_AFTER="0.2").extensions["cohort.cache"]
    cache.get_many("a")
    cache.get_many("a")
    assert door.attempts == 1
    time.sleep(0.25)  # past CACHE_RETRY_AFTER
    cache.get_many("a")
    assert door.attempts == 2


def test_ping_ignores_the_breaker(make_app, door):
    cache = make_app(CACHE_URL=door.url(), CACHE_RETRY_AFTER="600").extensions["cohort.cache"]
    cache.get_many("a")
    assert cache.ping() is False
    assert door.attempts == 2  # readiness looks at Redis itself


def test_values_round_trip_through_redis(make_app, redis_url, redis_client):
    cache = make_app(CACHE_URL=redis_url).extensions["cohort.cache"]
    assert cache.ping() is True
    assert cache.get_many("k1", "k2") == [None, None]
    assert cache.set("k1", {"n": 1, "t": ("v", 2)}, 30) is True
    assert cache.add("k2", [1, 2], 30) is True
    assert cache.add("k2", "other", 30) is False  # add never overwrites
    assert cache.set_many({"k3": 3, "k4": "four"}, 30) is True
    assert cache.get_many("k1", "k2", "k3", "k4", "k5") == [
        {"n": 1, "t": ("v", 2)}, [1, 2], 3, "four", None]
    assert redis_client.ttl("probe:k1") in range(1, 31)  # keys live under the service's prefix


def test_a_failed_read_loses_nothing(make_app, redis_door, redis_client):
    cache = make_app(CACHE_URL=redis_door.url(), CACHE_RETRY_AFTER="0.2").extensions[
        "cohort.cache"]
    cache.set("count:1", 5, 300)
    redis_door.shut()
    assert cache.get_many("count:1") == [None]
    redis_door.open()
    time.sleep(0.25)
    assert cache.get_many("count:1") == [5]


@pytest.mark.filterwarnings("ignore:Flask-Caching")
def test_memory_and_null_caches(make_app):
    memory = make_app(CACHE_URL="memory://").extensions["cohort.cache"]
    assert memory.set("a", 1, 10) is True
    assert memory.get_many("a", "b") == [1, None]
    assert memory.ping() is True
    null = make_app(CACHE_URL="null://").extensions["cohort.cache"]
    assert null.kind == "null"
    null.set("a", 1, 10)
    assert null.get_many("a") == [None]



def test_redis_that_never_accepts_fails_open(make_app, unanswering_port):
    """Connection attempts that hang end at CACHE_SOCKET_TIMEOUT, and the service goes on."""
    app = make_app(CACHE_URL=f"redis://127.0.0.1:{unanswering_port}/0",
                   CACHE_SOCKET_TIMEOUT="0.05")
    assert app.extensions["cohort.cache"].get_many("a") == [None]
    response = app.test_client().get("/health/ready/")
    assert response.status_code == 200
    assert response.get_json()["status"] == "warn"


def test_redis_that_never_answers_fails_open(make_app):
    """A Redis that takes the connection but never replies (hung, swapping)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    accepting = threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True)
    accepting.start()
    try:
        app = make_app(CACHE_URL=f"redis://127.0.0.1:{listener.getsockname()[1]}/0",
                       CACHE_SOCKET_TIMEOUT="0.05", CACHE_RETRY_AFTER="600")
        cache = app.extensions["cohort.cache"]
        assert cache.get_many("a", "b") == [None, None]
        assert cache.is_down
        assert cache.set("a", 1, 10) is False
    finally:
        accepting.join(timeout=5)
        for sock in held:
            sock.close()
        listener.close()
