"""The shared cache (flask-caching), failing open: when it is down, callers read misses."""

import logging
import os
import time

from flask import Flask
from flask_caching import Cache
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.metrics import count_cache

log = logging.getLogger(__name__)


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
    are atomic for threads and greenlets alike); one that fails is dropped, never reused with
    a reply still unread.
    """

    def __init__(self, pool):
        self._make = lambda: pool.connection_class(**pool.connection_kwargs)
        self._idle: list = []
        self._pid = os.getpid()

    def execute(self, *command):
        if self._pid != os.getpid():  # a forked worker must not share its parent's sockets
            self._idle, self._pid = [], os.getpid()
        try:
            connection = self._idle.pop()
        except IndexError:
            connection = self._make()
        try:
            connection.send_command(*command)
            reply = connection.read_response()
        except BaseException:
            connection.disconnect()
            raise
        self._idle.append(connection)
        return reply


class FailOpenCache:
    """Cache calls that never raise: an error opens a breaker for CACHE_RETRY_AFTER seconds,
    during which calls return their default at once instead of paying a connection attempt."""

    def __init__(self, app: Flask):
        self._cache = Cache(app, config=cache_config(app))
        self.backend = self._cache.cache
        url = app.config["CACHE_URL"]
        self.kind = "redis" if url.startswith("redis") else url.split(":", 1)[0]
        self.service = app.name
        self.retry_after = app.config["CACHE_RETRY_AFTER"]
        self._down_until = 0.0
        self._lost_write = False
        self._reads = (Connections(self.backend._read_client.connection_pool)
                       if self.kind == "redis" else None)

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, default, call, *args, write: bool = False):
        if time.monotonic() < self._down_until:
            self._lost_write |= write
            return default
        try:
            if self._lost_write:
                self._recover()
            return call(*args)
        except Exception as exc:  # any backend error: go on without the cache
            if not self.is_down:
                log.warning("cache %s failed, going on without it for %ss: %s",
                            self.kind, self.retry_after, exc)
            self._down_until = time.monotonic() + self.retry_after
            self._lost_write |= write
            count_cache(self.service, self.kind, "error")
            return default

    def _recover(self) -> None:
        # A write (an invalidation) was lost while the cache was down: what it kept from
        # before may be stale, so this service's keys go before the cache is used again.
        if self.kind == "redis":
            # SCAN in small steps, not the KEYS behind clear(): each call stays well under
            # the socket timeout however large the cache is.
            client = self.backend._write_client
            batch = []
            for key in client.scan_iter(match=f"{self.backend.key_prefix}*", count=1000):
                batch.append(key)
                if len(batch) == 1000:
                    client.unlink(*batch)
                    batch.clear()
            if batch:
                client.unlink(*batch)
        else:
            self.backend.clear()
        self._lost_write = False
        log.warning("cache %s is back; cleared entries that a lost write left stale", self.kind)

    def get_many(self, *keys: str) -> list:
        return self._call([None] * len(keys), self._get_many, *keys)

    def _get_many(self, *keys: str) -> list:
        if self._reads is None:
            return self.backend.get_many(*keys)
        # One MGET, read back with flask-caching's own serializer and key prefix.
        prefix, loads = self.backend.key_prefix, self.backend.serializer.loads
        return [loads(v) for v in self._reads.execute("MGET", *[prefix + k for k in keys])]

    def set(self, key: str, value, timeout: int) -> bool:
        return self._call(False, self.backend.set, key, value, timeout, write=True)

    def add(self, key: str, value, timeout: int) -> bool:
        return self._call(False, self.backend.add, key, value, timeout, write=True)

    def set_many(self, mapping: dict, timeout: int) -> bool:
        return bool(self._call([], self.backend.set_many, mapping, timeout, write=True))

    def delete_many(self, *keys: str) -> bool:
        return bool(self._call(False, self.backend.delete_many, *keys, write=True))

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
