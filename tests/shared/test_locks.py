"""command_lock: one holder at a time, on PostgreSQL (advisory) and SQLite (a file)."""

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import text

from shared.config import ROOT
from shared.locks import AlreadyRunning, command_lock
from tests.shared.service_app import db

HOLDER = """
import sys
from shared.locks import command_lock
from tests.shared.service_app import create_app, db
app = create_app({"DATABASE_URL": sys.argv[1]})
with app.app_context(), command_lock(db, sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
print("released", flush=True)
"""


@pytest.fixture
def name() -> str:
    return f"probe-job-{uuid.uuid4().hex[:8]}"


def assert_taken(name: str) -> None:
    with pytest.raises(AlreadyRunning, match=name), command_lock(db, name):
        pass


def test_second_holder_gets_already_running(db_app, name):
    with db_app.app_context():
        with command_lock(db, name):
            assert_taken(name)
        with command_lock(db, name):  # free again once the first let go
            pass


def test_other_names_do_not_conflict(db_app, name):
    with db_app.app_context(), command_lock(db, name), command_lock(db, name + "-other"):
        pass


def test_an_error_inside_releases_the_lock(db_app, name):
    with db_app.app_context():
        with pytest.raises(ZeroDivisionError), command_lock(db, name):
            1 / 0  # noqa: B018
        with command_lock(db, name):
            pass


def test_a_holder_in_another_process_keeps_us_out(db_app, database_url, name):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database_url, name], cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin",
                                                            "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with db_app.app_context():
            assert_taken(name)
        holder.stdin.close()
        assert holder.stdout.readline().strip() == "released"
        assert holder.wait(timeout=30) == 0
        with db_app.app_context(), command_lock(db, name):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_sqlite_lock_lives_beside_the_database(make_app, sqlite_url, name):
    """Two copies on the same database share it; other databases (test runs) do not."""
    from pathlib import Path

    from sqlalchemy import make_url

    app = make_app()
    with app.app_context(), command_lock(db, name):
        database = Path(make_url(sqlite_url).database)
        assert database.with_name(f"{database.name}.{name}.lock").exists()


def test_advisory_lock_holds_no_transaction_open(postgres_app, name):
    """A command runs for minutes: its lock must survive idle_in_transaction timeouts."""
    app = postgres_app
    with app.app_context(), command_lock(db, name), db.engine.connect() as other:
        states = other.execute(text(
            "SELECT a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND a.datname = current_database()"
        )).scalars().all()
    assert states == ["idle"]
