"""A hung database fails fast: timeouts on every connection, a client-side deadline, and a
per-process breaker that a probe closes when the database answers again."""

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shared.db import engine_options
from shared.locks import command_lock
from tests.conftest import Tokens
from tests.support.proxy import proxy_to

ITEMS = "/api/probe/items"


def test_every_connection_gets_timeouts_and_keepalives(app):
    config = {**app.config, "DATABASE_URL": "postgresql://x/y", "DATABASE_STATEMENT_TIMEOUT": 4.0,
              "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": 9.0, "DATABASE_POOL_TIMEOUT": 1.5,
              "DATABASE_CONNECT_TIMEOUT": 3, "DATABASE_TCP_USER_TIMEOUT": 7.0}
    options = engine_options(config)
    args = options["connect_args"]
    assert options["pool_timeout"] == 1.5
    assert args["connect_timeout"] == 3 and args["tcp_user_timeout"] == 7000
    assert args["keepalives"] == 1
    assert "statement_timeout=4000" in args["options"]
    assert "idle_in_transaction_session_timeout=9000" in args["options"]


def test_a_frozen_database_answers_503_at_once_and_recovers(make_app, postgres_url):
    with proxy_to(postgres_url) as (proxy, url):
        app = make_app(DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT="0.5",
                       DATABASE_RETRY_AFTER="0.5")
        client, user = app.test_client(), Tokens(app.config).user(1)
        with app.app_context():
            app.extensions["sqlalchemy"].create_all()
        assert client.get(ITEMS, headers=user).status_code == 200
        proxy.freeze()
        first = client.get(ITEMS, headers=user)  # cut by the watchdog after 1.5s
        assert first.status_code == 503 and first.mimetype == "application/problem+json"
        for _ in range(5):  # the breaker is open: these fail at once
            assert client.get(ITEMS, headers=user).status_code == 503
        ready = client.get("/health/ready/")
        assert ready.status_code == 503
        assert ready.get_json()["checks"]["database:responseTime"][0]["output"] == \
            "database unreachable"
        proxy.thaw()
        proxy.cut()
        deadline = time.monotonic() + 10
        while client.get(ITEMS, headers=user).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_a_command_may_run_longer_statements_than_a_request(make_app, postgres_url):
    """A migration or a recompute gets DATABASE_COMMAND_TIMEOUT; the connection it used is
    back to the request's limit once the command returns it."""
    app = make_app(DATABASE_URL=postgres_url, DATABASE_STATEMENT_TIMEOUT="0.3",
                   DATABASE_COMMAND_TIMEOUT="5")
    db = app.extensions["sqlalchemy"]
    sleep = text("SELECT pg_sleep(0.6)")
    with app.app_context():
        with command_lock(db, "long-sleep"):
            db.rows(sleep)  # twice the request limit: fine in a command
        with pytest.raises(OperationalError, match="statement timeout"):
            db.rows(sleep)  # the same pooled connection, a request again
        db.engine.dispose()
