"""Fixtures of the fault suite: a migrated PostgreSQL database, a private Redis, a proxy.

How a service adds its rows to this suite: give the service a `Load`-like driver in
support.py (its writes, recorded when acknowledged, and its reads, each checked against
what was acknowledged before it began), then add a test to each module that starts its
stack with `fault_stack(..., services=("<name>",))` on `service_database("<name>")` and
runs its driver through the same fault (Redis killed and restarted, writes paused, the
database frozen, a worker killed, the stack stopped). Keep each test to a few seconds of
load; the suite runs in CI.
"""

from contextlib import contextmanager

import pytest

from services import SERVICES
from tests.support.databases import empty_tables, migrate, temporary_database
from tests.support.proxy import proxy_to
from tests.support.redis_server import redis_server

pytestmark = [pytest.mark.stack, pytest.mark.nginx]


@pytest.fixture(scope="session")
def service_database(tmp_path_factory):
    """`service_database(name)`: the URL of a migrated PostgreSQL database of that service,
    made once a session; rows are deleted after each test that asked for it."""
    made, stack = {}, []

    def database(name: str) -> str:
        if name not in made:
            context = temporary_database("postgresql", tmp_path_factory, f"faults_{name}")
            made[name] = context.__enter__()
            stack.append(context)
            migrate(SERVICES[name].create_app, made[name])
        return made[name]

    yield database
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def notifications_db(service_database):
    url = service_database("notifications")
    yield url
    empty_tables(SERVICES["notifications"].create_app({"DATABASE_URL": url}))


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of the test's own, to kill, restart and pause."""
    with redis_server(tmp_path) as server:
        yield server


@contextmanager
def proxied(url: str):
    """(proxy, URL through it) for a PostgreSQL or Redis URL: freeze, thaw or cut it."""
    with proxy_to(url) as pair:
        yield pair


@pytest.fixture
def proxy():
    """`proxy(url)`: a proxy in front of `url`, closed after the test; (proxy, its URL)."""
    contexts = []

    def make(url: str):
        context = proxied(url)
        contexts.append(context)
        return context.__enter__()

    yield make
    for context in reversed(contexts):
        context.__exit__(None, None, None)
