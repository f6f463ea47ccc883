"""What one request of each endpoint costs inside the service: CPU, and round trips to
PostgreSQL and Redis counted on the wire.

The app runs in this process against the benchmark's database and cache, each behind a
counting proxy (tests/support/proxy.py), and is called as a WSGI app with environs built
beforehand, so the figures are the service's own work and nothing of a client or server.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from werkzeug.test import EnvironBuilder

from shared.observability import count_queries
from tests.support.proxy import proxy_to

WARMUP = 30  # requests of each call before it is measured


@dataclass
class Call:
    """One endpoint to measure: `request(i)` gives the i-th request's EnvironBuilder kwargs
    (path, method, headers, json, ...), so calls can spread over users and objects."""

    name: str
    request: Callable[[int], dict]
    expect: int = 200
    before: Callable[[], None] | None = field(default=None, repr=False)  # e.g. warm a cache
    app: object = field(default=None, repr=False)  # another configuration of the service


@contextmanager
def proxied(database_url: str, cache_url: str | None):
    """(database proxy, its URL, cache proxy or None, its URL)."""
    with proxy_to(database_url) as (database, database_via):
        if cache_url and cache_url.startswith("redis"):
            with proxy_to(cache_url) as (cache, cache_via):
                yield database, database_via, cache, cache_via
        else:
            yield database, database_via, None, cache_url


def _call(app, environ: dict, expect: int) -> None:
    status = []
    body = app(environ, lambda s, h, e=None: status.append(s))
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    code = int(status[0].split()[0])
    if code != expect:
        raise RuntimeError(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}: {status[0]}, "
                           f"expected {expect}")


def measure(app, calls: list[Call], database, cache, repeat: int = 300,
            warmup: int = WARMUP) -> list[dict]:
    """A row per call: CPU µs a request, statements, and round trips to each server."""
    rows = []
    for call in calls:
        target = call.app or app
        if call.before:
            call.before()
        for i in range(warmup):
            _call(target, EnvironBuilder(**call.request(i)).get_environ(), call.expect)
        environs = [EnvironBuilder(**call.request(warmup + i)).get_environ()
                    for i in range(repeat)]
        database_start, cache_start = database.round_trips, cache.round_trips if cache else 0
        with count_queries() as statements:
            started = time.process_time()
            for environ in environs:
                _call(target, environ, call.expect)
            cpu = (time.process_time() - started) / repeat
        rows.append({
            "name": call.name, "cpu_us": round(cpu * 1e6),
            "statements": round(statements.count / repeat, 2),
            "postgres": round((database.round_trips - database_start) / repeat, 2),
            "redis": round((cache.round_trips - cache_start) / repeat, 2) if cache else 0,
        })
    return rows
