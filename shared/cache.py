"""The shared cache (flask-caching), failing open: when it is down, callers read misses."""

import logging
import os
import select
import threading
import time

from flask import Flask
from flask_caching import Cache
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.metrics import count_cache

log = logging.getLogger(__name__)

LOCAL_KEYS = 100_000


def cache_config(app: Flask) -> dict:
    """flask-caching settings for CACHE_URL, with short timeouts and no client-side retries."""
    url = app.config["CACHE_URL"]
    if url.startswith("redis"):
        timeout = app.config["CACHE_SOCKET_TIMEOUT"]
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": f"{app.name}:",
            "CACHE_OPTIONS": {
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    if url.startswith("memory"):
        return {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 100_000}
    return {"CACHE_TYPE": "NullCache"}


class Connections:
    """Redis connections for the hot read path, without the client pool's per-command work.

    redis-py's pool records connection metrics and polls the socket on every checkout, which
    costs more than the MGET of a cached poll. Idle connections wait in a list (pop and append
    are atomic for threads and greenlets alike); one the server has closed (its socket reads
    as ready while idle: Redis restarted) is dropped before use, at the cost of one select();
    one that fails is dropped, never reused with a reply still unread.
    """

    def __init__(self, pool):
        self._pool = pool
        self._idle: list = []
        self._pid = os.getpid()

    def _make(self):
        """A new connection, which learns the run_id of the Redis process it reached (one
        round trip per connection): a value must not outlive the process that stored it."""
        connection = self._pool.connection_class(**self._pool.connection_kwargs)
        try:
            connection.send_command("INFO", "server")
            info = connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        connection.run_id = next((line.split(b":", 1)[1].strip() for line in info.splitlines()
                                  if line.startswith(b"run_id:")), b"")
        return connection

    def _checkout(self):
        if self._pid != os.getpid():  # a forked worker must not share its parent's sockets
            self._idle, self._pid = [], os.getpid()
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return self._make()
            sock = connection._sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return connection
            connection.disconnect()

    def execute(self, *command):
        return self.execute_on(*command)[1]

    def execute_on(self, *command) -> tuple[bytes, object]:
        """The run_id of the Redis that answered, and its reply."""
        connection = self._checkout()
        try:
            connection.send_command(*command)
            reply = connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        self._idle.append(connection)
        return connection.run_id, reply

    def pipeline(self, commands: list[tuple]) -> list:
        """Several commands in one round trip; their replies in order."""
        connection = self._checkout()
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            replies = [connection.read_response() for _ in commands]
        except BaseException:
            connection.disconnect()
            raise
        self._idle.append(connection)
        return replies


class LocalStore:
    """The few Redis commands the coherent cache uses, in this process (memory://)."""

    def __init__(self):
        self._data: dict[bytes, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def execute(self, name: str, *args):
        with self._lock:
            return self._run(name, *args)

    def execute_on(self, name: str, *args) -> tuple[bytes, object]:
        return b"local", self.execute(name, *args)

    def pipeline(self, commands: list[tuple]) -> list:
        with self._lock:
            return [self._run(*command) for command in commands]

    def _get(self, key: bytes):
        value, expires = self._data.get(key, (None, 0.0))
        if value is not None and expires and expires < time.monotonic():
            del self._data[key]
            return None
        return value

    def _run(self, name: str, *args):
        if name == "MGET":
            return [self._get(key) for key in args]
        if name == "GET":
            return self._get(args[0])
        if name == "SET":
            key, value, *options = args
            if "NX" in options and self._get(key) is not None:
                return None
            expires = 0.0
            if "PX" in options:
                expires = time.monotonic() + options[options.index("PX") + 1] / 1000
            if len(self._data) > LOCAL_KEYS:
                self._data.clear()  # a cache, not a store: start again rather than grow
            self._data[key] = (value, expires)
            return b"OK"
        raise ValueError(f"LocalStore does not run {name}")


class FailOpenCache:
    """Cache calls that never raise: an error opens a breaker for CACHE_RETRY_AFTER seconds,
    during which calls return their default at once instead of paying a connection attempt.

    The breaker is this process's own, so it only saves time: a value that must never be
    served stale after a write goes through shared.coherent, whose correctness does not
    depend on it. Plain get/set values may outlive a lost write until their timeout.
    """

    def __init__(self, app: Flask):
        self._cache = Cache(app, config=cache_config(app))
        self.backend = self._cache.cache
        url = app.config["CACHE_URL"]
        self.kind = "redis" if url.startswith("redis") else url.split(":", 1)[0]
        self.service = app.name
        self.retry_after = app.config["CACHE_RETRY_AFTER"]
        self._down_until = 0.0
        self.connections = (Connections(self.backend._read_client.connection_pool)
                            if self.kind == "redis" else None)

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def call(self, default, call, *args):
        """call(*args), or `default` when it fails or the breaker is open."""
        if time.monotonic() < self._down_until:
            return default
        try:
            return call(*args)
        except Exception as exc:  # any backend error: go on without the cache
            self.failed(exc)
            return default

    def failed(self, exc: Exception) -> None:
        """Open the breaker after `exc`."""
        if not self.is_down:
            log.warning("cache %s failed, going on without it for %ss: %s",
                        self.kind, self.retry_after, exc)
        self._down_until = time.monotonic() + self.retry_after
        count_cache(self.service, self.kind, "error")

    def get_many(self, *keys: str) -> list:
        return self.call([None] * len(keys), self._get_many, *keys)

    def _get_many(self, *keys: str) -> list:
        if self.connections is None:
            return self.backend.get_many(*keys)
        # One MGET, read back with flask-caching's own serializer and key prefix.
        prefix, loads = self.backend.key_prefix, self.backend.serializer.loads
        return [loads(v) for v in self.connections.execute(
            "MGET", *[prefix + k for k in keys])]

    def set(self, key: str, value, timeout: int) -> bool:
        return self.call(False, self.backend.set, key, value, timeout)

    def add(self, key: str, value, timeout: int) -> bool:
        return self.call(False, self.backend.add, key, value, timeout)

    def set_many(self, mapping: dict, timeout: int) -> bool:
        return bool(self.call([], self.backend.set_many, mapping, timeout))

    def delete_many(self, *keys: str) -> bool:
        return bool(self.call(False, self.backend.delete_many, *keys))

    def ping(self) -> bool:
        """Whether the backend answers now (for readiness); ignores the breaker."""
        try:
            if self.kind == "redis":
                return bool(self.backend._write_client.ping())
            return True
        except Exception:
            return False


def register_cache(app: Flask) -> None:
    app.extensions["cohort.cache"] = FailOpenCache(app)
