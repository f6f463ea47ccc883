"""Fixtures every service's tests use: app, client, runner, tokens, backends."""

import pytest

from shared.auth import mint_token
from tests.support.servers import REDIS_URL, require_redis

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def redis_url():
    """A Redis database of its own, flushed before the test."""
    require_redis()
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


class Tokens:
    """Bearer headers for users and for services, signed like real ones."""

    def __init__(self, config):
        self.config = config

    def user(self, user_id: int, role: str = "student", **claims) -> dict:
        return {"Authorization": f"Bearer {mint_token(self.config, user_id, role, **claims)}"}

    @property
    def service(self) -> dict:
        return {"Authorization": f"Bearer {self.config['SERVICE_TOKEN']}"}


@pytest.fixture
def tokens(app) -> Tokens:
    return Tokens(app.config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
