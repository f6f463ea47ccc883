"""`Database.fetch`: the rows `rows` gives, as tuples, straight from the driver on PostgreSQL;
counted like any query, one round trip, and a dead connection costs a retry or a 503."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import BigInteger, String, bindparam, column, select, text
from sqlalchemy.exc import OperationalError

from shared.db import UTCDateTime
from shared.dbguard import DatabaseUnavailable
from shared.observability import count_queries
from tests.shared.service_app import Item
from tests.support.proxy import proxy_to

AT = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
NAMED = text(
    "SELECT id, name, :at AS at FROM items WHERE id IN :ids ORDER BY id"
).bindparams(bindparam("ids", expanding=True)).columns(
    column("id", BigInteger), column("name", String), column("at", UTCDateTime))
FIRST = select(Item.id, Item.name).order_by(Item.id).limit(1)
BY_IDS = select(Item.id).where(Item.id.in_(bindparam("ids", expanding=True))).order_by(Item.id)


@pytest.fixture
def items(db_app):
    db = db_app.extensions["sqlalchemy"]
    with db_app.app_context():
        db.session.add_all([Item(id=i, name=f"item {i}") for i in (1, 2, 3)])
        db.session.commit()
        yield db


def test_a_list_of_integers_goes_as_an_array_of_them_only(items):
    assert items.fetch(BY_IDS, {"ids": [3, 1, 7]}) == [(1,), (3,)]
    assert items.fetch(BY_IDS, {"ids": []}) == []
    assert items.fetch(BY_IDS, {"ids": [2**63 - 1, -(2**63)]}) == []
    if items.engine.dialect.name == "postgresql":  # the array's text holds integers only
        with pytest.raises(TypeError):
            items.fetch(BY_IDS, {"ids": ["1}; DROP TABLE items; --"]})


def test_the_rows_of_rows_as_tuples(items):
    params = {"ids": [3, 1, 7], "at": AT}
    fetched = items.fetch(NAMED, params)
    assert fetched == [tuple(r) for r in items.rows(NAMED, params)]
    assert fetched == [(1, "item 1", AT), (3, "item 3", AT)]
    assert fetched[0][2].tzinfo is not None
    assert items.fetch(NAMED, {"ids": [], "at": AT}) == []
    assert items.fetch(FIRST) == [(1, "item 1")]  # a bound value the statement holds
    assert items.fetch_one(FIRST).name == "item 1"
    assert items.fetch_one(NAMED, {"ids": [], "at": AT}) is None


def test_counted_as_a_query(items):
    with count_queries() as stats:
        items.fetch(FIRST)
        items.fetch(NAMED, {"ids": [1], "at": AT})
    assert stats.count == 2


def test_one_round_trip_and_a_restart_costs_a_retry(make_app, postgres_url):
    with proxy_to(postgres_url) as (proxy, url):
        app = make_app(DATABASE_URL=url)
        db = app.extensions["sqlalchemy"]
        with app.app_context():
            db.create_all()
            for _ in range(6):  # the pool's first connection; psycopg prepares on the fifth
                db.fetch(FIRST)
            with proxy.counting() as trips:
                for _ in range(5):
                    db.fetch(FIRST)
            assert trips() == 5
            proxy.cut()  # as a restart of the server: every pooled connection is dead
            assert db.fetch(FIRST) is not None
            assert proxy.connections == 2


def test_a_hung_statement_is_cut_and_answers_503(make_app, postgres_url):
    with proxy_to(postgres_url) as (proxy, url):
        app = make_app(DATABASE_URL=url, DATABASE_STATEMENT_TIMEOUT="0.3",
                          DATABASE_RETRY_AFTER="0.5")
        db = app.extensions["sqlalchemy"]
        with app.app_context():
            db.create_all()
            db.fetch(FIRST)
            proxy.freeze()
            with pytest.raises(OperationalError):  # the watchdog cuts it: a 503 in a request
                db.fetch(FIRST)
            with pytest.raises(DatabaseUnavailable):  # the breaker is open: at once
                db.fetch(FIRST)
            proxy.thaw()
            proxy.cut()
            deadline = time.monotonic() + 10
            while True:
                try:
                    db.fetch(FIRST)
                    break
                except (OperationalError, DatabaseUnavailable):
                    assert time.monotonic() < deadline, "no recovery within 10 s"
                    time.sleep(0.1)
